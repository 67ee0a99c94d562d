import crypto from 'node:crypto';
import type { Pool } from 'pg';
import type { SandboxOptions } from './sandbox-config';
import { inTransaction } from './sandbox-database';
import { feeMinor, formatWalletAmount, isSandboxCurrency, parseWalletAmount, toCnyMinor } from './sandbox-money';
import { BEHAVIOUR_FAIL_CODES, behaviourOf } from './payment-code-behaviour';
import { enqueueNotification, type NotificationContext } from './notification-outbox';
import { beijingCompact, beijingDate, isCompactBeijingTime, parseBeijingDateTime } from './sandbox-time';
import {
  addRefunded,
  closeTrade,
  findRefund,
  findTrade,
  insertRefund,
  insertTrade,
  isRegistered,
  markAnswered,
  promoteConfirmedTrades,
  upsertSecondaryMerchant,
  type TradeRecord,
} from './trade-repository';

/** The mapi services the sandbox implements. */
export const SANDBOX_SERVICES = {
  pay: 'alipay.acquire.overseas.spot.pay',
  query: 'alipay.acquire.overseas.query',
  cancel: 'alipay.acquire.cancel',
  refund: 'alipay.acquire.overseas.spot.refund',
  secmerchant: 'alipay.overseas.secmerchant.offline.maintain',
} as const;

export type SandboxService = (typeof SANDBOX_SERVICES)[keyof typeof SANDBOX_SERVICES];

export function isSandboxService(value: string): value is SandboxService {
  return (Object.values(SANDBOX_SERVICES) as string[]).includes(value);
}

const COMMON_PARAMS = ['service', 'partner', '_input_charset', 'sign', 'sign_type'];

/** Parameters each service accepts (anything else is ILLEGAL_ARGUMENT: "send only defined parameters"). */
const ALLOWED_PARAMS: Record<SandboxService, readonly string[]> = {
  [SANDBOX_SERVICES.pay]: [
    'notify_url',
    'alipay_seller_id',
    'quantity',
    'trans_name',
    'partner_trans_id',
    'currency',
    'trans_currency',
    'trans_amount',
    'buyer_identity_code',
    'identity_code_type',
    'trans_create_time',
    'memo',
    'biz_product',
    'extend_info',
    'trade_information',
  ],
  [SANDBOX_SERVICES.query]: ['partner_trans_id', 'alipay_trans_id'],
  [SANDBOX_SERVICES.cancel]: ['timestamp', 'terminal_timestamp', 'out_trade_no', 'trade_no'],
  [SANDBOX_SERVICES.refund]: [
    'notify_url',
    'partner_trans_id',
    'alipay_trans_id',
    'partner_refund_id',
    'refund_amount',
    'currency',
    'refund_reason',
    'is_sync',
  ],
  [SANDBOX_SERVICES.secmerchant]: [
    'timestamp',
    'secondary_merchant_name',
    'secondary_merchant_id',
    'secondary_merchant_type',
    'store_id',
    'store_name',
    'store_country',
    'store_address',
    'store_industry',
    'internal_store_photo',
    'external_storefront_photo',
    'registration_no',
    'register_country',
    'register_address',
    'shareholder_name',
    'shareholder_id',
    'representative_name',
    'representative_id',
    'settlement_no',
    'contact_no',
    'contact_email',
    'cs_no',
    'cs_email',
    'extend_params',
  ],
};

/** What a service answers: business fields (signed), or a gateway-level error (is_success=F). */
export type ServiceAnswer =
  { kind: 'business'; fields: Record<string, string>; holdMs?: number } | { kind: 'gateway_error'; error: string };

export type ServiceContext = {
  pool: Pool;
  options: SandboxOptions;
  notify: NotificationContext;
};

function gatewayError(error: string): ServiceAnswer {
  return { kind: 'gateway_error', error };
}

function business(fields: Record<string, string>, holdMs?: number): ServiceAnswer {
  return holdMs === undefined ? { kind: 'business', fields } : { kind: 'business', fields, holdMs };
}

function randomDigits(count: number): string {
  let out = '';
  while (out.length < count) out += crypto.randomInt(0, 1_000_000_000).toString().padStart(9, '0');
  return out.slice(0, count);
}

function newAlipayTransId(now: Date): string {
  return `${beijingCompact(now).slice(0, 8)}2200${randomDigits(16)}`;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Rejects undefined parameters and missing required ones (ILLEGAL_ARGUMENT). */
export function checkParams(
  service: SandboxService,
  params: Record<string, string>,
  required: readonly string[],
): string | undefined {
  const allowed = new Set([...COMMON_PARAMS, ...ALLOWED_PARAMS[service]]);
  for (const key of Object.keys(params)) if (!allowed.has(key)) return `unexpected parameter ${key}`;
  for (const key of required) if ((params[key] ?? '') === '') return `missing parameter ${key}`;
  return undefined;
}

/** Applies due buyer confirmations (1000–1999 codes) and queues their notifications. */
export async function promoteDueTrades(ctx: ServiceContext): Promise<number> {
  const now = ctx.options.now();
  const due = await ctx.pool.query(
    `SELECT 1 FROM sandbox_trade WHERE status = 'WAIT_BUYER_PAY' AND confirm_at IS NOT NULL AND confirm_at <= $1 AND partner_id = $2 LIMIT 1`,
    [now, ctx.options.partnerId],
  );
  if (due.rowCount === 0) return 0;
  return await inTransaction(ctx.pool, async (client) => {
    const promoted = await promoteConfirmedTrades(client, ctx.options.partnerId, now);
    for (const trade of promoted) await enqueueNotification(client, ctx.notify, trade, 'payByAccountAction', now);
    return promoted.length;
  });
}

function fxFields(trade: TradeRecord): Record<string, string> {
  if (trade.currency === 'CNY' || trade.exchangeRate === null || trade.amountCnyMinor === null) return {};
  return { exchange_rate: trade.exchangeRate, trans_amount_cny: formatWalletAmount(trade.amountCnyMinor, 'CNY') };
}

function paySuccessFields(trade: TradeRecord): Record<string, string> {
  return {
    result_code: 'SUCCESS',
    partner_trans_id: trade.partnerTransId,
    alipay_trans_id: trade.alipayTransId,
    alipay_buyer_login_id: trade.buyerLoginId ?? '',
    alipay_buyer_user_id: trade.buyerUserId ?? '',
    alipay_pay_time: trade.paidAt !== null ? beijingCompact(trade.paidAt) : '',
    currency: trade.currency,
    trans_amount: formatWalletAmount(trade.amountMinor, trade.currency),
    ...fxFields(trade),
  };
}

function payUnknownFields(trade: TradeRecord): Record<string, string> {
  return {
    result_code: 'UNKNOW',
    partner_trans_id: trade.partnerTransId,
    alipay_trans_id: trade.alipayTransId,
    currency: trade.currency,
    trans_amount: formatWalletAmount(trade.amountMinor, trade.currency),
  };
}

function payFailFields(partnerTransId: string, error: string): Record<string, string> {
  return { result_code: 'FAIL', error, partner_trans_id: partnerTransId };
}

type ExtendInfo = {
  secondary_merchant_id?: string;
  secondary_merchant_name?: string;
  secondary_merchant_industry?: string;
  store_id?: string;
  store_name?: string;
};

function parseExtendInfo(text: string | undefined): ExtendInfo | 'invalid' {
  if (text === undefined || text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'invalid';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'invalid';
  const info: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string' && typeof v !== 'number') return 'invalid';
    info[key] = String(v);
  }
  return info;
}

/** `alipay.acquire.overseas.spot.pay`. */
export async function spotPay(ctx: ServiceContext, p: Record<string, string>): Promise<ServiceAnswer> {
  const { options } = ctx;
  const bad = checkParams(SANDBOX_SERVICES.pay, p, [
    'alipay_seller_id',
    'trans_name',
    'partner_trans_id',
    'currency',
    'trans_amount',
    'buyer_identity_code',
    'biz_product',
  ]);
  if (bad !== undefined) return gatewayError('ILLEGAL_ARGUMENT');
  const partnerTransId = p['partner_trans_id'] ?? '';
  const currency = p['currency'] ?? '';
  const code = p['buyer_identity_code'] ?? '';
  if (partnerTransId.length > 64 || (p['trans_name'] ?? '').length > 256 || code.length > 32)
    return gatewayError('ILLEGAL_ARGUMENT');
  if (p['alipay_seller_id'] !== options.partnerId) return gatewayError('ILLEGAL_ARGUMENT');
  if (p['biz_product'] !== 'OVERSEAS_MBARCODE_PAY') return gatewayError('ILLEGAL_ARGUMENT');
  if (!isSandboxCurrency(currency)) return gatewayError('ILLEGAL_ARGUMENT');
  const amountMinor = parseWalletAmount(p['trans_amount'] ?? '', currency);
  if (amountMinor === undefined) return gatewayError('ILLEGAL_ARGUMENT');
  const codeType = p['identity_code_type'];
  if (codeType !== undefined && codeType !== 'barcode' && codeType !== 'qrcode')
    return gatewayError('ILLEGAL_ARGUMENT');
  const createTime = p['trans_create_time'];
  if (createTime !== undefined && !isCompactBeijingTime(createTime)) return gatewayError('ILLEGAL_ARGUMENT');
  const notifyUrl = p['notify_url'];
  if (notifyUrl !== undefined && (notifyUrl.length > 200 || !isHttpUrl(notifyUrl)))
    return gatewayError('ILLEGAL_ARGUMENT');
  const extend = parseExtendInfo(p['extend_info']);
  if (extend === 'invalid') return gatewayError('ILLEGAL_ARGUMENT');
  if (p['trans_currency'] !== undefined && p['trans_currency'] !== currency) {
    return business(payFailFields(partnerTransId, 'EXCHANGE_AMOUNT_OR_CURRENCY_ERROR'));
  }

  await promoteDueTrades(ctx);
  const existing = await findTrade(ctx.pool, options.partnerId, { partnerTransId });
  if (existing !== undefined) return await repeatedPay(ctx, existing, currency, amountMinor, code);

  const rate = options.fxRates[currency];
  if (rate === undefined) return business(payFailFields(partnerTransId, 'EXCHANGE_AMOUNT_OR_CURRENCY_ERROR'));
  if (options.requireRegistration && extend.secondary_merchant_id !== undefined) {
    const registered = await isRegistered(
      ctx.pool,
      options.partnerId,
      extend.secondary_merchant_id,
      extend.store_id ?? null,
    );
    if (!registered) return business(payFailFields(partnerTransId, 'SECONDARY_MERCHANT_NOT_EXIST'));
  }

  const now = options.now();
  const behaviour = behaviourOf(code);
  const failCode = BEHAVIOUR_FAIL_CODES[behaviour];
  const paysNow = behaviour === 'pay_now' || behaviour === 'unknown_then_paid' || behaviour === 'timeout_then_paid';
  const status = failCode !== undefined ? 'TRADE_CLOSED' : paysNow ? 'TRADE_SUCCESS' : 'WAIT_BUYER_PAY';
  const buyerKnown = behaviour !== 'code_invalid' && behaviour !== 'code_expired';

  const answer = await inTransaction(ctx.pool, async (client) => {
    const inserted = await insertTrade(client, {
      partnerId: options.partnerId,
      partnerTransId,
      alipayTransId: newAlipayTransId(now),
      behaviour,
      status,
      failCode: failCode ?? null,
      buyerIdentityCode: code,
      buyerUserId: buyerKnown ? `2088${randomDigits(12)}` : null,
      buyerLoginId: buyerKnown ? `138****${code.slice(-4)}` : null,
      currency,
      amountMinor,
      transName: p['trans_name'] ?? '',
      exchangeRate: rate,
      amountCnyMinor: toCnyMinor(amountMinor, currency, rate),
      feeMinor: feeMinor(amountMinor, options.feeRate),
      secondaryMerchantId: extend.secondary_merchant_id ?? null,
      secondaryMerchantName: extend.secondary_merchant_name ?? null,
      secondaryMerchantIndustry: extend.secondary_merchant_industry ?? null,
      storeId: extend.store_id ?? null,
      storeName: extend.store_name ?? null,
      notifyUrl: notifyUrl ?? null,
      createdAt: now,
      confirmAt: behaviour === 'confirm_later' ? new Date(now.getTime() + options.confirmDelayMs) : null,
      paidAt: paysNow ? now : null,
      closedAt: failCode !== undefined ? now : null,
      closeAction: failCode !== undefined ? 'close' : null,
    });
    if (inserted === undefined) return undefined; // lost a race with an identical request
    if (inserted.status === 'TRADE_SUCCESS') {
      await enqueueNotification(client, ctx.notify, inserted, 'payByAccountAction', now);
    }
    if (failCode !== undefined) return business(payFailFields(partnerTransId, failCode));
    switch (behaviour) {
      case 'pay_now':
        await client.query(
          'UPDATE sandbox_trade SET answered_success = true WHERE partner_id = $1 AND partner_trans_id = $2',
          [options.partnerId, partnerTransId],
        );
        return business(paySuccessFields(inserted));
      case 'timeout_then_paid':
        return business(paySuccessFields(inserted), options.timeoutSleepMs);
      default:
        return business(payUnknownFields(inserted));
    }
  });
  if (answer !== undefined) return answer;
  const raced = await findTrade(ctx.pool, options.partnerId, { partnerTransId });
  if (raced === undefined) return gatewayError('SYSTEM_ERROR');
  return await repeatedPay(ctx, raced, currency, amountMinor, code);
}

/** A spot.pay for a partner_trans_id that already exists: same data → the trade's state. */
async function repeatedPay(
  ctx: ServiceContext,
  trade: TradeRecord,
  currency: string,
  amountMinor: number,
  code: string,
): Promise<ServiceAnswer> {
  if (trade.buyerIdentityCode === null) return business(payFailFields(trade.partnerTransId, 'TRADE_HAS_CLOSE'));
  if (trade.currency !== currency || trade.amountMinor !== amountMinor) {
    return business(payFailFields(trade.partnerTransId, 'CONTEXT_INCONSISTENT'));
  }
  if (trade.buyerIdentityCode !== code) return business(payFailFields(trade.partnerTransId, 'TRADE_BUYER_NOT_MATCH'));
  const success = trade.status === 'TRADE_SUCCESS';
  await markAnswered(ctx.pool, trade.partnerId, trade.partnerTransId, success);
  if (success) return business(paySuccessFields(trade));
  if (trade.status === 'WAIT_BUYER_PAY') return business(payUnknownFields(trade));
  return business(payFailFields(trade.partnerTransId, trade.failCode ?? 'TRADE_HAS_CLOSE'));
}

/** `alipay.acquire.overseas.query`. */
export async function overseasQuery(ctx: ServiceContext, p: Record<string, string>): Promise<ServiceAnswer> {
  const bad = checkParams(SANDBOX_SERVICES.query, p, []);
  if (bad !== undefined) return gatewayError('ILLEGAL_ARGUMENT');
  const partnerTransId = p['partner_trans_id'];
  const alipayTransId = p['alipay_trans_id'];
  if (partnerTransId === undefined && alipayTransId === undefined) return gatewayError('ILLEGAL_ARGUMENT');
  await promoteDueTrades(ctx);
  // When both are sent, alipay_trans_id is checked first (brief §2.2).
  const trade =
    alipayTransId !== undefined
      ? await findTrade(ctx.pool, ctx.options.partnerId, { alipayTransId })
      : await findTrade(ctx.pool, ctx.options.partnerId, { partnerTransId: partnerTransId ?? '' });
  if (trade === undefined || (partnerTransId !== undefined && trade.partnerTransId !== partnerTransId)) {
    return business({
      result_code: 'FAIL',
      error: 'TRANS_NOT_FOUND',
      ...(partnerTransId !== undefined ? { partner_trans_id: partnerTransId } : {}),
    });
  }
  const fields: Record<string, string> = {
    result_code: 'SUCCESS',
    alipay_trans_status: trade.status,
    partner_trans_id: trade.partnerTransId,
    out_trade_no: trade.partnerTransId,
    alipay_trans_id: trade.alipayTransId,
    currency: trade.currency,
    trans_amount: formatWalletAmount(trade.amountMinor, trade.currency),
  };
  if (trade.buyerLoginId !== null) fields['alipay_buyer_login_id'] = trade.buyerLoginId;
  if (trade.buyerUserId !== null) fields['alipay_buyer_user_id'] = trade.buyerUserId;
  if (trade.paidAt !== null) {
    fields['alipay_pay_time'] = beijingCompact(trade.paidAt);
    Object.assign(fields, fxFields(trade));
  }
  return business(fields);
}

function cancelFail(
  outTradeNo: string,
  code: string,
  description: string,
  retry: 'Y' | 'N',
  tradeNo?: string,
): ServiceAnswer {
  return business({
    result_code: 'FAIL',
    out_trade_no: outTradeNo,
    ...(tradeNo !== undefined ? { trade_no: tradeNo } : {}),
    retry_flag: retry,
    detail_error_code: code,
    detail_error_des: description,
  });
}

/**
 * `alipay.acquire.cancel`: closes an unpaid trade; reverses a paid one (full amount, fee
 * returned) only on the GMT+8 day it was paid. Cancelling an unknown out_trade_no closes it in
 * advance, so a late spot.pay with that id fails with TRADE_HAS_CLOSE.
 */
export async function acquireCancel(ctx: ServiceContext, p: Record<string, string>): Promise<ServiceAnswer> {
  const bad = checkParams(SANDBOX_SERVICES.cancel, p, ['out_trade_no', 'timestamp']);
  if (bad !== undefined) return gatewayError('ILLEGAL_ARGUMENT');
  const outTradeNo = p['out_trade_no'] ?? '';
  if (!/^\d{10,16}$/.test(p['timestamp'] ?? '') || outTradeNo.length > 64) return gatewayError('ILLEGAL_ARGUMENT');
  const terminal = p['terminal_timestamp'];
  if (terminal !== undefined && !/^\d{10,16}$/.test(terminal)) return gatewayError('ILLEGAL_ARGUMENT');
  await promoteDueTrades(ctx);
  const { options } = ctx;
  const now = options.now();

  return await inTransaction(ctx.pool, async (client) => {
    let trade = await findTrade(client, options.partnerId, { partnerTransId: outTradeNo }, true);
    if (trade === undefined) {
      // Close the id in advance: a late pay request must not succeed after the merchant gave up.
      await insertTrade(client, {
        partnerId: options.partnerId,
        partnerTransId: outTradeNo,
        alipayTransId: newAlipayTransId(now),
        behaviour: 'cancelled_before_pay',
        status: 'TRADE_CLOSED',
        failCode: null,
        buyerIdentityCode: null,
        buyerUserId: null,
        buyerLoginId: null,
        currency: 'CNY',
        amountMinor: 0,
        transName: '',
        exchangeRate: null,
        amountCnyMinor: null,
        feeMinor: 0,
        secondaryMerchantId: null,
        secondaryMerchantName: null,
        secondaryMerchantIndustry: null,
        storeId: null,
        storeName: null,
        notifyUrl: null,
        createdAt: now,
        confirmAt: null,
        paidAt: null,
        closedAt: now,
        closeAction: 'close',
      });
      trade = await findTrade(client, options.partnerId, { partnerTransId: outTradeNo }, true);
      if (trade === undefined) return gatewayError('SYSTEM_ERROR');
      return business({
        result_code: 'SUCCESS',
        out_trade_no: outTradeNo,
        trade_no: trade.alipayTransId,
        action: 'close',
      });
    }
    const tradeNo = p['trade_no'];
    if (tradeNo !== undefined && tradeNo !== trade.alipayTransId) {
      return cancelFail(outTradeNo, 'TRADE_NOT_EXIST', 'trade_no does not match out_trade_no', 'N');
    }
    if (trade.status === 'TRADE_CLOSED') {
      if (trade.closeAction === 'refunded') {
        return cancelFail(outTradeNo, 'TRADE_STATUS_ERROR', 'trade was fully refunded', 'N', trade.alipayTransId);
      }
      return business({
        result_code: 'SUCCESS',
        out_trade_no: outTradeNo,
        trade_no: trade.alipayTransId,
        action: trade.closeAction === 'refund' ? 'refund' : 'close',
      });
    }
    if (trade.status === 'WAIT_BUYER_PAY') {
      const closed = await closeTrade(client, trade, now, 'close', null);
      await enqueueNotification(client, ctx.notify, closed, 'closeTradeAction', now);
      return business({
        result_code: 'SUCCESS',
        out_trade_no: outTradeNo,
        trade_no: trade.alipayTransId,
        action: 'close',
      });
    }
    // TRADE_SUCCESS
    if (trade.paidAt === null || beijingDate(trade.paidAt) !== beijingDate(now)) {
      return cancelFail(
        outTradeNo,
        'TRADE_CANCEL_TIME_OUT',
        'a paid trade can only be cancelled on its GMT+8 payment day; refund it',
        'N',
        trade.alipayTransId,
      );
    }
    if (trade.refundedMinor > 0) {
      return cancelFail(
        outTradeNo,
        'TRADE_STATUS_ERROR',
        'trade has refunds; refund the rest instead',
        'N',
        trade.alipayTransId,
      );
    }
    const reversed = await closeTrade(client, trade, now, 'refund', trade.answeredSuccess ? 'CANCEL' : 'REVERSAL');
    await enqueueNotification(client, ctx.notify, reversed, 'reverseAction', now);
    return business({
      result_code: 'SUCCESS',
      out_trade_no: outTradeNo,
      trade_no: trade.alipayTransId,
      action: 'refund',
    });
  });
}

function refundFail(p: Record<string, string>, error: string): ServiceAnswer {
  return business({
    result_code: 'FAIL',
    error,
    partner_trans_id: p['partner_trans_id'] ?? '',
    partner_refund_id: p['partner_refund_id'] ?? '',
  });
}

/** `alipay.acquire.overseas.spot.refund`: partial/repeated refunds, idempotent by partner_refund_id. */
export async function spotRefund(ctx: ServiceContext, p: Record<string, string>): Promise<ServiceAnswer> {
  const bad = checkParams(SANDBOX_SERVICES.refund, p, [
    'partner_trans_id',
    'partner_refund_id',
    'refund_amount',
    'currency',
  ]);
  if (bad !== undefined) return gatewayError('ILLEGAL_ARGUMENT');
  const partnerTransId = p['partner_trans_id'] ?? '';
  const partnerRefundId = p['partner_refund_id'] ?? '';
  const currency = p['currency'] ?? '';
  if (partnerRefundId.length > 64 || partnerTransId.length > 64 || (p['refund_reason'] ?? '').length > 128)
    return gatewayError('ILLEGAL_ARGUMENT');
  if (partnerRefundId === partnerTransId) return gatewayError('ILLEGAL_ARGUMENT');
  const isSync = p['is_sync'] ?? 'N';
  if (isSync !== 'Y' && isSync !== 'N') return gatewayError('ILLEGAL_ARGUMENT');
  if (!isSandboxCurrency(currency)) return gatewayError('ILLEGAL_ARGUMENT');
  const amountMinor = parseWalletAmount(p['refund_amount'] ?? '', currency);
  if (amountMinor === undefined) return gatewayError('ILLEGAL_ARGUMENT');
  const notifyUrl = p['notify_url'];
  if (notifyUrl !== undefined && !isHttpUrl(notifyUrl)) return gatewayError('ILLEGAL_ARGUMENT');
  await promoteDueTrades(ctx);
  const { options } = ctx;
  const now = options.now();

  return await inTransaction(ctx.pool, async (client) => {
    const trade = await findTrade(client, options.partnerId, { partnerTransId }, true);
    if (trade === undefined || trade.buyerIdentityCode === null) return refundFail(p, 'TRADE_NOT_EXIST');
    const alipayTransId = p['alipay_trans_id'];
    if (alipayTransId !== undefined && alipayTransId !== trade.alipayTransId) return refundFail(p, 'TRADE_NOT_EXIST');

    const previous = await findRefund(client, options.partnerId, partnerRefundId);
    if (previous !== undefined) {
      if (
        previous.partnerTransId !== partnerTransId ||
        previous.amountMinor !== amountMinor ||
        previous.currency !== currency
      ) {
        return refundFail(p, 'CONTEXT_INCONSISTENT');
      }
      return business(
        refundSuccessFields(trade, previous.partnerRefundId, previous.amountMinor, previous.amountCnyMinor),
      );
    }
    if (currency !== trade.currency) return refundFail(p, 'CURRENCY_NOT_MATCH');
    if (trade.status === 'WAIT_BUYER_PAY' || trade.paidAt === null) return refundFail(p, 'TRADE_STATUS_ERROR');
    if (trade.status === 'TRADE_CLOSED') {
      return refundFail(p, trade.closeAction === 'refunded' ? 'REFUND_AMOUNT_EXCEED' : 'TRADE_HAS_CLOSE');
    }
    if (trade.refundedMinor + amountMinor > trade.amountMinor) return refundFail(p, 'REFUND_AMOUNT_EXCEED');

    const amountCnyMinor = trade.exchangeRate !== null ? toCnyMinor(amountMinor, currency, trade.exchangeRate) : null;
    await insertRefund(client, {
      partnerId: options.partnerId,
      partnerRefundId,
      partnerTransId,
      alipayTransId: trade.alipayTransId,
      currency,
      amountMinor,
      amountCnyMinor,
      exchangeRate: trade.exchangeRate,
      reason: p['refund_reason'] ?? null,
      createdAt: now,
    });
    let updated = await addRefunded(client, trade, amountMinor);
    if (updated.refundedMinor === updated.amountMinor)
      updated = await closeTrade(client, updated, now, 'refunded', null);
    if (isSync === 'N') {
      const url = notifyUrl ?? null;
      await enqueueNotification(client, ctx.notify, { ...updated, notifyUrl: url }, 'refundFPAction', now, {
        partnerRefundId,
        amountMinor,
        amountCnyMinor,
      });
    }
    return business(refundSuccessFields(updated, partnerRefundId, amountMinor, amountCnyMinor));
  });
}

function refundSuccessFields(
  trade: TradeRecord,
  partnerRefundId: string,
  amountMinor: number,
  amountCnyMinor: number | null,
): Record<string, string> {
  const fields: Record<string, string> = {
    result_code: 'SUCCESS',
    partner_trans_id: trade.partnerTransId,
    partner_refund_id: partnerRefundId,
    alipay_trans_id: trade.alipayTransId,
    refund_amount: formatWalletAmount(amountMinor, trade.currency),
    currency: trade.currency,
  };
  if (trade.currency !== 'CNY' && trade.exchangeRate !== null && amountCnyMinor !== null) {
    fields['exchange_rate'] = trade.exchangeRate;
    fields['refund_amount_cny'] = formatWalletAmount(amountCnyMinor, 'CNY');
  }
  return fields;
}

/** `alipay.overseas.secmerchant.offline.maintain`: stores (or updates) the registration. */
export async function secmerchantMaintain(ctx: ServiceContext, p: Record<string, string>): Promise<ServiceAnswer> {
  const bad = checkParams(SANDBOX_SERVICES.secmerchant, p, [
    'timestamp',
    'secondary_merchant_name',
    'secondary_merchant_id',
    'store_id',
    'store_name',
    'store_industry',
  ]);
  if (bad !== undefined) return gatewayError('ILLEGAL_ARGUMENT');
  const id = p['secondary_merchant_id'] ?? '';
  const storeId = p['store_id'] ?? '';
  if (!/^[A-Za-z0-9_]{1,64}$/.test(id) || storeId.length > 64 || (p['secondary_merchant_name'] ?? '').length > 128) {
    return gatewayError('ILLEGAL_ARGUMENT');
  }
  if (!/^\d{4}$/.test(p['store_industry'] ?? '')) return gatewayError('ILLEGAL_ARGUMENT');
  const country = p['store_country'];
  if (country !== undefined && !/^[A-Z]{2}$/.test(country)) return gatewayError('ILLEGAL_ARGUMENT');
  const type = p['secondary_merchant_type'];
  if (type !== undefined && type !== 'INDIVIDUAL' && type !== 'ENTERPRISE') return gatewayError('ILLEGAL_ARGUMENT');
  const now = ctx.options.now();
  const sent = parseBeijingDateTime(p['timestamp'] ?? '');
  // The request expires 30 minutes after its timestamp.
  if (sent === undefined) return gatewayError('ILLEGAL_ARGUMENT');
  if (Math.abs(now.getTime() - sent.getTime()) > 30 * 60_000) {
    return business({ result_code: 'FAIL', error: 'REQUEST_EXPIRED', secondary_merchant_id: id, store_id: storeId });
  }
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(p)) if (!COMMON_PARAMS.includes(key)) fields[key] = value;
  const outcome = await upsertSecondaryMerchant(ctx.pool, {
    partnerId: ctx.options.partnerId,
    secondaryMerchantId: id,
    storeId,
    name: p['secondary_merchant_name'] ?? '',
    storeName: p['store_name'] ?? null,
    storeIndustry: p['store_industry'] ?? null,
    fields,
    at: now,
  });
  return business({
    result_code: 'SUCCESS',
    secondary_merchant_id: id,
    store_id: storeId,
    registration_status: outcome === 'created' ? 'CREATED' : 'UPDATED',
  });
}
