import http from 'node:http';
import https from 'node:https';
import { currencyExponent, currencySchema, formatMajor, parseMajor, type Money } from '@admit/contracts';
import { alipayMapiConfigSchema, type AlipayMapiConfig } from './alipay-mapi.config';
import { classifyResultCode, failureMessage, isUnknownOutcomeCode, mapAlipayErrorCode } from './alipay-error-codes';
import { postForm, type HttpExchange } from './mapi-http-client';
import {
  buildPreSignString,
  loadMapiKeys,
  signRequestParams,
  verifyWalletSignature,
  type MapiKeys,
} from './mapi-signature';
import { formatCompactGmt8, formatDashedGmt8, parseGmt8 } from './mapi-time';
import { decodeXmlBody, MapiXmlError, parseMapiEnvelope, responsePreSignString } from './mapi-xml';
import type {
  CancelResult,
  NotificationVerification,
  PayInput,
  PayResult,
  QueryResult,
  RefundInput,
  RefundResult,
  RegisterMerchantInput,
  RegisterMerchantResult,
  WalletFailureCode,
  WalletGateway,
  WalletNotification,
  WalletPaidTrade,
  WalletTradeStatus,
} from './wallet-gateway';

/** The mapi service names this adapter calls. */
export const ALIPAY_MAPI_SERVICES = {
  pay: 'alipay.acquire.overseas.spot.pay',
  query: 'alipay.acquire.overseas.query',
  cancel: 'alipay.acquire.cancel',
  refund: 'alipay.acquire.overseas.spot.refund',
  registerMerchant: 'alipay.overseas.secmerchant.offline.maintain',
} as const;

const INPUT_CHARSET = 'UTF-8';
const PARTNER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const PAYMENT_CODE_PATTERN = /^\d{16,24}$/;

/**
 * The verified outcome of one gateway call, before the per-service interpretation.
 * - `transport`: no usable answer (timeout, network error, non-200, unparsable XML).
 * - `gateway_error`: `is_success=F` with the gateway's error code.
 * - `unverified`: `is_success=T` but the signature is missing or wrong.
 * - `business`: `is_success=T`, signature verified, business fields.
 */
type MapiCallOutcome =
  | { kind: 'transport'; reason: string }
  | { kind: 'gateway_error'; error: string }
  | { kind: 'unverified'; reason: string }
  | { kind: 'business'; fields: Record<string, string> };

export type AlipayMapiGatewayOptions = {
  /** Clock, injectable for tests. */
  now?: () => Date;
};

/**
 * Client of Alipay's overseas acquiring "mapi" gateway (`gateway.do`): signed form requests,
 * signed XML answers. Implements {@link WalletGateway}.
 *
 * Every ambiguous answer (timeout, non-200, unparsable XML, `is_success=F` with `SYSTEM_ERROR`,
 * `result_code=UNKNOW(N)`, an unverifiable signature) becomes `unknown` (or `retry` for cancel),
 * never `failed` (brief §6.2).
 */
export class AlipayMapiGateway implements WalletGateway {
  readonly walletName = 'alipay';
  readonly notificationAckBody = 'success';

  private readonly config: AlipayMapiConfig;
  private readonly keys: MapiKeys;
  private readonly endpoint: URL;
  private readonly agent: http.Agent;
  private readonly now: () => Date;

  constructor(config: AlipayMapiConfig, options: AlipayMapiGatewayOptions = {}) {
    const parsed = alipayMapiConfigSchema.safeParse(config);
    if (!parsed.success) {
      throw new Error(
        `invalid Alipay mapi configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    }
    this.config = config;
    this.keys = loadMapiKeys(config);
    this.endpoint = new URL(config.gatewayUrl);
    this.endpoint.searchParams.set('_input_charset', INPUT_CHARSET);
    this.agent =
      this.endpoint.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, maxSockets: 64 })
        : new http.Agent({ keepAlive: true, maxSockets: 64 });
    this.now = options.now ?? (() => new Date());
  }

  /** Closes pooled connections. */
  close(): void {
    this.agent.destroy();
  }

  async registerMerchant(input: RegisterMerchantInput): Promise<RegisterMerchantResult> {
    const outcome = await this.call(ALIPAY_MAPI_SERVICES.registerMerchant, {
      timestamp: formatDashedGmt8(this.now()),
      secondary_merchant_id: input.id,
      secondary_merchant_name: sanitizeText(input.name),
      secondary_merchant_type: input.merchantType,
      registration_no: input.registrationNo,
      store_id: input.storeId,
      store_name: sanitizeText(input.storeName),
      store_industry: input.mcc,
      store_country: input.country,
      store_address: input.address !== undefined ? sanitizeText(input.address) : undefined,
      contact_email: input.contactEmail,
      contact_no: input.contactPhone,
    });
    switch (outcome.kind) {
      case 'transport':
      case 'unverified':
        return { kind: 'unknown', reason: outcome.reason };
      case 'gateway_error':
        return isUnknownOutcomeCode(outcome.error)
          ? { kind: 'unknown', reason: `gateway ${outcome.error}` }
          : failed(outcome.error);
      case 'business': {
        const result = classifyResultCode(outcome.fields['result_code']);
        if (result === 'success') return { kind: 'registered' };
        const code = outcome.fields['error'] ?? outcome.fields['detail_error_code'];
        if (result === 'fail' && code !== undefined && !isUnknownOutcomeCode(code)) return failed(code);
        return {
          kind: 'unknown',
          reason: `result_code ${outcome.fields['result_code'] ?? '(none)'} ${code ?? ''}`.trim(),
        };
      }
    }
  }

  async pay(input: PayInput): Promise<PayResult> {
    const invalid = validatePayInput(input);
    if (invalid !== undefined) {
      return { kind: 'failed', code: 'WALLET_REQUEST_INVALID', message: invalid, walletCode: 'LOCAL_VALIDATION' };
    }
    const extendInfo: Record<string, string> = {
      secondary_merchant_id: input.merchant.id,
      secondary_merchant_name: input.merchant.name,
      secondary_merchant_industry: input.merchant.mcc,
    };
    if (input.merchant.storeId !== undefined) extendInfo['store_id'] = input.merchant.storeId;
    if (input.merchant.storeName !== undefined) extendInfo['store_name'] = input.merchant.storeName;

    const outcome = await this.call(ALIPAY_MAPI_SERVICES.pay, {
      notify_url: this.config.notifyUrl,
      alipay_seller_id: this.config.partnerId,
      trans_name: sanitizeText(input.subject).slice(0, 256),
      partner_trans_id: input.partnerTransId,
      currency: input.amount.currency,
      trans_amount: formatMajor(input.amount),
      buyer_identity_code: input.paymentCode,
      identity_code_type: 'barcode',
      trans_create_time: formatCompactGmt8(this.now()),
      biz_product: 'OVERSEAS_MBARCODE_PAY',
      extend_info: JSON.stringify(extendInfo),
    });

    switch (outcome.kind) {
      case 'transport':
      case 'unverified':
        return { kind: 'unknown', reason: outcome.reason };
      case 'gateway_error':
        return isUnknownOutcomeCode(outcome.error)
          ? { kind: 'unknown', reason: `gateway ${outcome.error}` }
          : failed(outcome.error);
      case 'business': {
        const f = outcome.fields;
        if (f['partner_trans_id'] !== undefined && f['partner_trans_id'] !== input.partnerTransId) {
          return { kind: 'unknown', reason: `answer is for partner_trans_id ${f['partner_trans_id']}` };
        }
        const result = classifyResultCode(f['result_code']);
        if (result === 'success') {
          const echoed = readMoney(f['trans_amount'], f['currency']);
          if (
            echoed !== undefined &&
            (echoed.value !== input.amount.value || echoed.currency !== input.amount.currency)
          ) {
            return {
              kind: 'unknown',
              reason: `SUCCESS for a different amount ${f['trans_amount'] ?? ''} ${f['currency'] ?? ''}`,
            };
          }
          const paid = this.readPaidTrade(f);
          if (paid === undefined) return { kind: 'unknown', reason: 'SUCCESS without alipay_trans_id' };
          return { kind: 'succeeded', ...paid };
        }
        const code = f['error'];
        if (result === 'fail' && code !== undefined && code !== '' && !isUnknownOutcomeCode(code)) return failed(code);
        return {
          kind: 'unknown',
          reason: `result_code ${f['result_code'] ?? '(none)'}${code !== undefined ? ` ${code}` : ''}`,
        };
      }
    }
  }

  async query(partnerTransId: string): Promise<QueryResult> {
    const outcome = await this.call(ALIPAY_MAPI_SERVICES.query, { partner_trans_id: partnerTransId });
    switch (outcome.kind) {
      case 'transport':
      case 'unverified':
        return { kind: 'unknown', reason: outcome.reason };
      case 'gateway_error':
        return { kind: 'unknown', reason: `gateway ${outcome.error}` };
      case 'business': {
        const f = outcome.fields;
        const result = classifyResultCode(f['result_code']);
        if (result === 'fail') {
          const code = (f['error'] ?? '').toUpperCase();
          if (code === 'TRANS_NOT_FOUND' || code === 'TRADE_NOT_EXIST') return { kind: 'not_found' };
          return { kind: 'unknown', reason: `query failed: ${code || '(no error code)'}` };
        }
        if (result !== 'success') return { kind: 'unknown', reason: `result_code ${f['result_code'] ?? '(none)'}` };
        if (f['partner_trans_id'] !== undefined && f['partner_trans_id'] !== partnerTransId) {
          return { kind: 'unknown', reason: `answer is for partner_trans_id ${f['partner_trans_id']}` };
        }
        const status = f['alipay_trans_status'];
        const walletTransactionId = nonEmpty(f['alipay_trans_id']);
        switch (status) {
          case 'TRADE_SUCCESS': {
            const paid = this.readPaidTrade(f);
            if (paid === undefined) return { kind: 'unknown', reason: 'TRADE_SUCCESS without alipay_trans_id' };
            const amount = readMoney(f['trans_amount'], f['currency']);
            return { kind: 'paid', ...paid, ...(amount !== undefined ? { amount } : {}) };
          }
          case 'WAIT_BUYER_PAY':
            return { kind: 'waiting', ...(walletTransactionId !== undefined ? { walletTransactionId } : {}) };
          case 'TRADE_CLOSED':
            return { kind: 'closed', ...(walletTransactionId !== undefined ? { walletTransactionId } : {}) };
          default:
            return { kind: 'unknown', reason: `unexpected alipay_trans_status ${status ?? '(none)'}` };
        }
      }
    }
  }

  async cancel(partnerTransId: string): Promise<CancelResult> {
    const outcome = await this.call(ALIPAY_MAPI_SERVICES.cancel, {
      out_trade_no: partnerTransId,
      timestamp: String(this.now().getTime()),
    });
    switch (outcome.kind) {
      case 'transport':
      case 'unverified':
        return { kind: 'retry', reason: outcome.reason };
      case 'gateway_error':
        return isUnknownOutcomeCode(outcome.error)
          ? { kind: 'retry', reason: `gateway ${outcome.error}` }
          : failed(outcome.error);
      case 'business': {
        const f = outcome.fields;
        if (f['out_trade_no'] !== undefined && f['out_trade_no'] !== partnerTransId) {
          return { kind: 'retry', reason: `answer is for out_trade_no ${f['out_trade_no']}` };
        }
        const result = classifyResultCode(f['result_code']);
        if (result === 'success') {
          const action = f['action'];
          return action === 'close' || action === 'refund' ? { kind: 'cancelled', action } : { kind: 'cancelled' };
        }
        const code = f['detail_error_code'] ?? f['error'] ?? 'UNKNOWN';
        if (result === 'fail' && f['retry_flag'] === 'N' && !isUnknownOutcomeCode(code)) {
          return failed(code);
        }
        return {
          kind: 'retry',
          reason: `result_code ${f['result_code'] ?? '(none)'} ${code} retry_flag=${f['retry_flag'] ?? '(none)'}`,
        };
      }
    }
  }

  async refund(input: RefundInput): Promise<RefundResult> {
    if (input.partnerRefundId === input.partnerTransId || !PARTNER_ID_PATTERN.test(input.partnerRefundId)) {
      return {
        kind: 'failed',
        code: 'WALLET_REQUEST_INVALID',
        message: 'partnerRefundId must be 1-64 letters, digits, _ or - and differ from partnerTransId',
        walletCode: 'LOCAL_VALIDATION',
      };
    }
    if (!Number.isSafeInteger(input.amount.value) || input.amount.value <= 0) {
      return {
        kind: 'failed',
        code: 'WALLET_REQUEST_INVALID',
        message: 'refund amount must be positive',
        walletCode: 'LOCAL_VALIDATION',
      };
    }
    const outcome = await this.call(ALIPAY_MAPI_SERVICES.refund, {
      partner_trans_id: input.partnerTransId,
      partner_refund_id: input.partnerRefundId,
      refund_amount: formatMajor(input.amount),
      currency: input.amount.currency,
      refund_reason: input.reason !== undefined ? sanitizeText(input.reason).slice(0, 128) : undefined,
      is_sync: 'Y',
    });
    switch (outcome.kind) {
      case 'transport':
      case 'unverified':
        return { kind: 'unknown', reason: outcome.reason };
      case 'gateway_error':
        return isUnknownOutcomeCode(outcome.error)
          ? { kind: 'unknown', reason: `gateway ${outcome.error}` }
          : failed(outcome.error);
      case 'business': {
        const f = outcome.fields;
        if (f['partner_refund_id'] !== undefined && f['partner_refund_id'] !== input.partnerRefundId) {
          return { kind: 'unknown', reason: `answer is for partner_refund_id ${f['partner_refund_id']}` };
        }
        const result = classifyResultCode(f['result_code']);
        if (result === 'success') {
          const amount = readMoney(f['refund_amount'], f['currency']);
          if (
            amount !== undefined &&
            (amount.value !== input.amount.value || amount.currency !== input.amount.currency)
          ) {
            return {
              kind: 'unknown',
              reason: `SUCCESS for a different amount ${f['refund_amount'] ?? ''} ${f['currency'] ?? ''}`,
            };
          }
          const walletTransactionId = nonEmpty(f['alipay_trans_id']);
          const exchangeRate = nonEmpty(f['exchange_rate']);
          const settlementAmount = readMoney(f['refund_amount_cny'], 'CNY');
          return {
            kind: 'succeeded',
            amount: input.amount,
            ...(walletTransactionId !== undefined ? { walletTransactionId } : {}),
            ...(exchangeRate !== undefined ? { exchangeRate } : {}),
            ...(settlementAmount !== undefined ? { settlementAmount } : {}),
          };
        }
        const code = f['error'];
        if (result === 'fail' && code !== undefined && code !== '' && !isUnknownOutcomeCode(code)) return failed(code);
        return {
          kind: 'unknown',
          reason: `result_code ${f['result_code'] ?? '(none)'}${code !== undefined ? ` ${code}` : ''}`,
        };
      }
    }
  }

  verifyNotification(form: Record<string, string>): NotificationVerification {
    const signature = form['sign'];
    if (signature === undefined || signature === '') {
      return { kind: 'rejected', reason: 'missing_signature', message: 'notification has no sign' };
    }
    const signType = form['sign_type'];
    if (signType !== undefined && signType.toUpperCase() !== this.keys.signType) {
      return {
        kind: 'rejected',
        reason: 'unsupported_sign_type',
        message: `sign_type ${signType} is not ${this.keys.signType}`,
      };
    }
    if (!verifyWalletSignature(buildPreSignString(form), this.keys, signType, signature)) {
      return { kind: 'rejected', reason: 'bad_signature', message: 'notification signature does not verify' };
    }
    const fields: Record<string, string> = {};
    for (const [key, value] of Object.entries(form)) {
      if (key !== 'sign' && key !== 'sign_type') fields[key] = value;
    }
    const partner = nonEmpty(fields['partner']);
    if (partner !== undefined && partner !== this.config.partnerId) {
      return { kind: 'rejected', reason: 'partner_mismatch', message: `notification for partner ${partner}` };
    }
    const notifyId = nonEmpty(fields['notify_id']);
    const partnerTransId = nonEmpty(fields['out_trade_no']) ?? nonEmpty(fields['partner_trans_id']);
    if (notifyId === undefined || partnerTransId === undefined) {
      return { kind: 'rejected', reason: 'malformed', message: 'notify_id and out_trade_no are required' };
    }
    const tradeStatus = fields['trade_status'];
    if (tradeStatus !== undefined && !isTradeStatus(tradeStatus)) {
      return { kind: 'rejected', reason: 'malformed', message: `unknown trade_status ${tradeStatus}` };
    }
    const notification: WalletNotification = {
      notifyId,
      notifyType: fields['notify_type'] ?? '',
      partnerTransId,
      fields,
    };
    const notifyTime = parseGmt8(fields['notify_time']);
    if (notifyTime !== undefined) notification.notifyTime = notifyTime;
    const action = nonEmpty(fields['notify_action_type']);
    if (action !== undefined) notification.action = action;
    const walletTransactionId = nonEmpty(fields['trade_no']);
    if (walletTransactionId !== undefined) notification.walletTransactionId = walletTransactionId;
    if (tradeStatus !== undefined) notification.tradeStatus = tradeStatus;
    const amount = readMoney(fields['trans_amount'], fields['currency']);
    if (amount !== undefined) notification.amount = amount;
    const paidAt = parseGmt8(fields['gmt_payment']);
    if (paidAt !== undefined) notification.paidAt = paidAt;
    const exchangeRate = nonEmpty(fields['exchange_rate']);
    if (exchangeRate !== undefined) notification.exchangeRate = exchangeRate;
    const settlementAmount = readMoney(fields['trans_amount_cny'], 'CNY');
    if (settlementAmount !== undefined) notification.settlementAmount = settlementAmount;
    return { kind: 'verified', notification };
  }

  private readPaidTrade(f: Record<string, string>): WalletPaidTrade | undefined {
    const walletTransactionId = nonEmpty(f['alipay_trans_id']);
    if (walletTransactionId === undefined) return undefined;
    const paid: WalletPaidTrade = {
      walletTransactionId,
      paidAt: parseGmt8(f['alipay_pay_time']) ?? this.now(),
    };
    const exchangeRate = nonEmpty(f['exchange_rate']);
    if (exchangeRate !== undefined) paid.exchangeRate = exchangeRate;
    const settlementAmount = readMoney(f['trans_amount_cny'], 'CNY');
    if (settlementAmount !== undefined) paid.settlementAmount = settlementAmount;
    const buyerUserId = nonEmpty(f['alipay_buyer_user_id']);
    if (buyerUserId !== undefined) paid.buyerUserId = buyerUserId;
    const buyerLoginId = nonEmpty(f['alipay_buyer_login_id']);
    if (buyerLoginId !== undefined) paid.buyerLoginId = buyerLoginId;
    return paid;
  }

  /** Signs and sends one request, then parses and verifies the answer. */
  private async call(service: string, business: Record<string, string | undefined>): Promise<MapiCallOutcome> {
    const params = signRequestParams(
      { service, partner: this.config.partnerId, _input_charset: INPUT_CHARSET, ...business },
      this.keys,
    );
    // `_input_charset` travels in the URL query (it is part of the signature); the rest in the body.
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (key !== '_input_charset') form.append(key, value);
    }
    const exchange: HttpExchange = await postForm(this.endpoint, form.toString(), {
      timeoutMs: this.config.timeoutMs,
      connectTimeoutMs: this.config.connectTimeoutMs ?? Math.min(5000, this.config.timeoutMs),
      agent: this.agent,
    });
    if (exchange.kind === 'error') return { kind: 'transport', reason: `${service}: ${exchange.reason}` };
    if (exchange.status !== 200) return { kind: 'transport', reason: `${service}: HTTP ${exchange.status}` };

    let envelope;
    try {
      envelope = parseMapiEnvelope(decodeXmlBody(exchange.body, exchange.contentType));
    } catch (err) {
      const reason = err instanceof MapiXmlError ? err.message : String(err);
      return { kind: 'transport', reason: `${service}: ${reason}` };
    }
    if (envelope.isSuccess !== 'T') {
      if (envelope.isSuccess === 'F' && envelope.error !== undefined && envelope.error !== '') {
        return { kind: 'gateway_error', error: envelope.error };
      }
      return { kind: 'transport', reason: `${service}: is_success=${envelope.isSuccess} without error code` };
    }
    if (envelope.response === undefined) return { kind: 'unverified', reason: `${service}: answer without <response>` };
    if (!verifyWalletSignature(responsePreSignString(envelope.response), this.keys, envelope.signType, envelope.sign)) {
      return { kind: 'unverified', reason: `${service}: response signature does not verify` };
    }
    return { kind: 'business', fields: envelope.response };
  }
}

function failed(walletCode: string): { kind: 'failed'; code: WalletFailureCode; message: string; walletCode: string } {
  const code = mapAlipayErrorCode(walletCode);
  return { kind: 'failed', code, message: failureMessage(code, walletCode), walletCode };
}

function validatePayInput(input: PayInput): string | undefined {
  if (!PARTNER_ID_PATTERN.test(input.partnerTransId)) return 'partnerTransId must be 1-64 letters, digits, _ or -';
  if (!PAYMENT_CODE_PATTERN.test(input.paymentCode)) return 'paymentCode must be 16-24 digits';
  if (!Number.isSafeInteger(input.amount.value) || input.amount.value <= 0) return 'amount must be positive';
  if (input.amount.value > 100_000_000 * 10 ** currencyExponent(input.amount.currency)) {
    return 'amount above the wallet maximum 100000000';
  }
  if (sanitizeText(input.subject) === '') return 'subject is required';
  if (input.merchant.id === '' || input.merchant.name === '') return 'merchant id and name are required';
  return undefined;
}

/** The mapi docs forbid the half-width double quote in values; control characters are dropped too. */
function sanitizeText(text: string): string {
  let out = '';
  for (const ch of text.replace(/"/g, "'")) {
    const code = ch.charCodeAt(0);
    out += code < 0x20 || code === 0x7f ? ' ' : ch;
  }
  return out.trim();
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function isTradeStatus(value: string): value is WalletTradeStatus {
  return value === 'WAIT_BUYER_PAY' || value === 'TRADE_SUCCESS' || value === 'TRADE_CLOSED';
}

function readMoney(amount: string | undefined, currency: string | undefined): Money | undefined {
  if (amount === undefined || amount === '' || currency === undefined) return undefined;
  const parsedCurrency = currencySchema.safeParse(currency.toUpperCase());
  if (!parsedCurrency.success) return undefined;
  try {
    return parseMajor(amount, parsedCurrency.data);
  } catch {
    return undefined;
  }
}
