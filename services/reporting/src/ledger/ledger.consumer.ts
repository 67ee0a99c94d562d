import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { EventPayload } from '@admit/contracts';
import type { BatchHandlerMap, HandlerMap, Logger } from '@admit/messaging';
import { LOGGER } from '@admit/service-kit';
import { REPORTING_SETTINGS, type ReportingSettings } from '../config';
import { businessDate, isValidTimeZone } from '../time/zoned-time';
import { bumpDailyTotals, bumpDailyTotalsMany, type DailyDelta, type DailyKey } from './daily-totals';
import { mdrFee } from './fees';
import { convertMinor } from './settlement';

type Manager = EntityManager;

/** Id of the ledger_refunds row that stands for a reversed (cancelled after capture) payment. */
export function reversalId(paymentId: string): string {
  return `${paymentId}:reversal`;
}

/**
 * The money side of reporting: merchants (their time zone decides the business date), the
 * payment ledger, refunds and reversals, tickets issued, and the daily totals built from them.
 *
 * Every fact is inserted under its natural key with ON CONFLICT DO NOTHING and the counters move
 * only when that insert happened. A fact of a merchant whose `merchant.onboarded` has not been
 * consumed yet (topics are not ordered with each other) is stored with business_date NULL and
 * counted when the merchant arrives. To make that hand-over race-free, a fact first makes sure a
 * merchants row exists (a placeholder if need be) and reads it FOR SHARE; `merchant.onboarded`
 * updates the same row, so the two serialise on it and the later one sees the earlier's rows.
 */
@Injectable()
export class LedgerConsumer {
  constructor(
    @Inject(REPORTING_SETTINGS) private readonly settings: Pick<ReportingSettings, 'defaultMdrBps'>,
    @Inject(LOGGER) private readonly logger: Pick<Logger, 'warn' | 'info'>,
  ) {}

  handlers(): HandlerMap {
    return {
      'merchant.onboarded': (p, { manager }) => this.merchantOnboarded(manager, p),
      'payment.succeeded': (p, { manager }) => this.paymentSucceeded(manager, p),
      'refund.succeeded': (p, { manager }) => this.refundSucceeded(manager, p),
      'payment.cancelled': (p, { manager }) => this.paymentCancelled(manager, p),
      'tickets.issued': (p, { manager }) => this.ticketsIssued(manager, p),
      'coupon.redeemed': (p, { manager }) => this.couponRedeemed(manager, p),
    };
  }

  /**
   * Set-based handling of the two most frequent facts (EventConsumer batch handlers): a chunk of
   * payments or of ticket issues costs a handful of statements. The single handlers are the same
   * code applied to one event, so a run has the effect of its events one after the other.
   */
  batchHandlers(): BatchHandlerMap {
    return {
      'payment.succeeded': (events, { manager }) =>
        this.paymentsSucceeded(
          manager,
          events.map((e) => e.payload),
        ),
      'tickets.issued': (events, { manager }) =>
        this.ticketsIssuedMany(
          manager,
          events.map((e) => e.payload),
        ),
    };
  }

  async merchantOnboarded(m: Manager, p: EventPayload<'merchant.onboarded'>): Promise<void> {
    let timezone = p.timezone;
    if (!isValidTimeZone(timezone)) {
      this.logger.warn({ merchantId: p.merchantId, timezone }, 'unknown time zone; business dates fall back to UTC');
      timezone = 'UTC';
    }
    const rows = (await m.query(
      `INSERT INTO merchants (id, name, country, city, timezone, settlement_currency, mcc, onboarded_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (id) DO UPDATE SET
         name = EXCLUDED.name, country = EXCLUDED.country, city = EXCLUDED.city, timezone = EXCLUDED.timezone,
         settlement_currency = EXCLUDED.settlement_currency, mcc = EXCLUDED.mcc, onboarded_at = EXCLUDED.onboarded_at
       WHERE merchants.onboarded_at IS NULL
       RETURNING id`,
      [p.merchantId, p.name, p.country, p.city, timezone, p.settlementCurrency, p.mcc, p.createdAt],
    )) as unknown[];
    if (rows.length > 0) await this.countPending(m, p.merchantId, timezone);
  }

  /** Counts the facts that arrived before the merchant's time zone was known. */
  private async countPending(m: Manager, merchantId: string, timezone: string): Promise<void> {
    const payments = (await m.query(
      `SELECT payment_id, paid_at, currency, amount_value::text AS amount, fee_value::text AS fee,
              COALESCE(settlement_value, amount_value)::text AS settlement, COALESCE(settlement_currency, currency) AS settlement_currency
       FROM ledger_payments WHERE merchant_id = $1 AND business_date IS NULL FOR UPDATE`,
      [merchantId],
    )) as {
      payment_id: string;
      paid_at: Date;
      currency: string;
      amount: string;
      fee: string;
      settlement: string;
      settlement_currency: string;
    }[];
    for (const r of payments) {
      const date = businessDate(r.paid_at, timezone);
      await m.query(`UPDATE ledger_payments SET business_date = $2 WHERE payment_id = $1`, [r.payment_id, date]);
      await bumpDailyTotals(
        m,
        { merchantId, date, currency: r.currency },
        {
          gross: toInt(r.amount),
          fees: toInt(r.fee),
          payments: 1,
          settlementGross: toInt(r.settlement),
          settlementCurrency: r.settlement_currency,
        },
      );
    }
    const refunds = (await m.query(
      `SELECT r.refund_id, r.succeeded_at, r.currency, r.amount_value::text AS amount, r.fee_value::text AS fee,
              COALESCE(r.settlement_value, r.amount_value)::text AS settlement,
              COALESCE(p.settlement_currency, r.currency) AS settlement_currency
       FROM ledger_refunds r LEFT JOIN ledger_payments p ON p.payment_id = r.payment_id
       WHERE r.merchant_id = $1 AND r.business_date IS NULL FOR UPDATE OF r`,
      [merchantId],
    )) as {
      refund_id: string;
      succeeded_at: Date;
      currency: string;
      amount: string;
      fee: string;
      settlement: string;
      settlement_currency: string;
    }[];
    for (const r of refunds) {
      const date = businessDate(r.succeeded_at, timezone);
      await m.query(`UPDATE ledger_refunds SET business_date = $2 WHERE refund_id = $1`, [r.refund_id, date]);
      await bumpDailyTotals(
        m,
        { merchantId, date, currency: r.currency },
        {
          refunds: toInt(r.amount),
          refundCount: 1,
          fees: -toInt(r.fee),
          settlementRefunds: toInt(r.settlement),
          settlementCurrency: r.settlement_currency,
        },
      );
    }
    const discounts = (await m.query(
      `SELECT coupon_id, order_id, redeemed_at, currency, amount_value::text AS amount
       FROM ledger_discounts WHERE merchant_id = $1 AND business_date IS NULL FOR UPDATE`,
      [merchantId],
    )) as { coupon_id: string; order_id: string; redeemed_at: Date; currency: string; amount: string }[];
    for (const d of discounts) {
      const date = businessDate(d.redeemed_at, timezone);
      await m.query(`UPDATE ledger_discounts SET business_date = $3 WHERE coupon_id = $1 AND order_id = $2`, [
        d.coupon_id,
        d.order_id,
        date,
      ]);
      await bumpDailyTotals(
        m,
        { merchantId, date, currency: d.currency },
        { gross: toInt(d.amount), discounts: toInt(d.amount) },
      );
    }
    const tickets = (await m.query(
      `SELECT ticket_id, issued_at, currency FROM tickets WHERE merchant_id = $1 AND business_date IS NULL FOR UPDATE`,
      [merchantId],
    )) as { ticket_id: string; issued_at: Date; currency: string }[];
    const ticketDays = new Map<string, { date: string; currency: string; count: number }>();
    for (const t of tickets) {
      const date = businessDate(t.issued_at, timezone);
      await m.query(`UPDATE tickets SET business_date = $2 WHERE ticket_id = $1`, [t.ticket_id, date]);
      const k = `${date}|${t.currency}`;
      const entry = ticketDays.get(k) ?? { date, currency: t.currency, count: 0 };
      entry.count += 1;
      ticketDays.set(k, entry);
    }
    for (const d of ticketDays.values()) {
      await bumpDailyTotals(m, { merchantId, date: d.date, currency: d.currency }, { tickets: d.count });
    }
    const counted = payments.length + refunds.length + tickets.length;
    if (counted > 0)
      this.logger.info(
        { merchantId, payments: payments.length, refunds: refunds.length, tickets: tickets.length },
        'counted facts that arrived before the merchant',
      );
  }

  /**
   * The merchant's time zone, or null while only a placeholder exists. Creates the placeholder
   * and holds a share lock on the row for the rest of the transaction (see the class comment).
   */
  private async merchantTimezone(m: Manager, merchantId: string): Promise<string | null> {
    return (await this.merchantTimezones(m, [merchantId])).get(merchantId) ?? null;
  }

  /** `merchantTimezone` for many merchants: placeholders, then share locks in id order. */
  private async merchantTimezones(m: Manager, merchantIds: string[]): Promise<Map<string, string | null>> {
    const ids = [...new Set(merchantIds)].sort();
    await m.query(
      `INSERT INTO merchants (id) SELECT id FROM unnest($1::text[]) AS t(id) ORDER BY id ON CONFLICT (id) DO NOTHING`,
      [ids],
    );
    const rows = (await m.query(`SELECT id, timezone FROM merchants WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE`, [
      ids,
    ])) as { id: string; timezone: string | null }[];
    return new Map(rows.map((r) => [r.id, r.timezone]));
  }

  private async feeBpsMany(m: Manager, merchantIds: string[]): Promise<Map<string, number>> {
    const ids = [...new Set(merchantIds)];
    const rows = (await m.query(
      `SELECT merchant_id, mdr_bps FROM merchant_fee_rates WHERE merchant_id = ANY($1::text[])`,
      [ids],
    )) as { merchant_id: string; mdr_bps: number }[];
    const found = new Map(rows.map((r) => [r.merchant_id, r.mdr_bps]));
    return new Map(ids.map((id) => [id, found.get(id) ?? this.settings.defaultMdrBps]));
  }

  async paymentSucceeded(m: Manager, p: EventPayload<'payment.succeeded'>): Promise<void> {
    await this.paymentsSucceeded(m, [p]);
  }

  /** `paymentSucceeded` for a run of events, in three statements plus one for the totals. */
  async paymentsSucceeded(m: Manager, list: EventPayload<'payment.succeeded'>[]): Promise<void> {
    const merchantIds = list.map((p) => p.merchantId);
    const bps = await this.feeBpsMany(m, merchantIds);
    const zones = await this.merchantTimezones(m, merchantIds);
    const rows = list.map((p) => {
      const feeBps = bps.get(p.merchantId) ?? this.settings.defaultMdrBps;
      const timezone = zones.get(p.merchantId) ?? null;
      return {
        p,
        feeBps,
        fee: mdrFee(p.amount.value, feeBps),
        date: timezone ? businessDate(p.paidAt, timezone) : null,
      };
    });
    const inserted = (await m.query(
      `INSERT INTO ledger_payments (payment_id, merchant_id, order_id, amount_value, currency, paid_at, business_date, wallet,
                                    wallet_transaction_id, partner_trans_id, exchange_rate, settlement_value, settlement_currency,
                                    fee_bps, fee_value)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[], $7::date[], $8::text[],
                            $9::text[], $10::text[], $11::text[], $12::bigint[], $13::text[], $14::int[], $15::bigint[])
       ON CONFLICT (payment_id) DO NOTHING
       RETURNING payment_id`,
      [
        rows.map((r) => r.p.paymentId),
        rows.map((r) => r.p.merchantId),
        rows.map((r) => r.p.orderId),
        rows.map((r) => r.p.amount.value),
        rows.map((r) => r.p.amount.currency),
        rows.map((r) => r.p.paidAt),
        rows.map((r) => r.date),
        rows.map((r) => r.p.wallet),
        rows.map((r) => r.p.walletTransactionId),
        rows.map((r) => r.p.partnerTransId),
        rows.map((r) => r.p.exchangeRate),
        rows.map((r) => r.p.settlementAmount?.value ?? null),
        rows.map((r) => r.p.settlementAmount?.currency ?? null),
        rows.map((r) => r.feeBps),
        rows.map((r) => r.fee),
      ],
    )) as { payment_id: string }[];
    const fresh = new Set(inserted.map((r) => r.payment_id));
    const bumps: { key: DailyKey; delta: DailyDelta }[] = [];
    for (const { p, fee, date } of rows) {
      // a payment id twice in one run is counted once, like the second single insert that does nothing
      if (!date || !fresh.delete(p.paymentId)) continue;
      bumps.push({
        key: { merchantId: p.merchantId, date, currency: p.amount.currency },
        delta: {
          gross: p.amount.value,
          fees: fee,
          payments: 1,
          settlementGross: p.settlementAmount?.value ?? p.amount.value,
          settlementCurrency: p.settlementAmount?.currency ?? p.amount.currency,
        },
      });
    }
    await bumpDailyTotalsMany(m, bumps);
  }

  /**
   * A coupon's discount, once per (coupon, order), on the day it was redeemed. The discount is what
   * the visitor did not pay: gross counts it (list value = captured + discount) and `discounts`
   * takes it off again, so net stays captured − refunds − fees.
   */
  async couponRedeemed(m: Manager, p: EventPayload<'coupon.redeemed'>): Promise<void> {
    const timezone = await this.merchantTimezone(m, p.merchantId);
    const date = timezone ? businessDate(p.redeemedAt, timezone) : null;
    const inserted = (await m.query(
      `INSERT INTO ledger_discounts (coupon_id, order_id, campaign_id, merchant_id, amount_value, currency, redeemed_at, business_date)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::date)
       ON CONFLICT (coupon_id, order_id) DO NOTHING
       RETURNING coupon_id`,
      [p.couponId, p.orderId, p.campaignId, p.merchantId, p.discount.value, p.discount.currency, p.redeemedAt, date],
    )) as unknown[];
    if (inserted.length > 0 && date && p.discount.value > 0) {
      await bumpDailyTotals(
        m,
        { merchantId: p.merchantId, date, currency: p.discount.currency },
        { gross: p.discount.value, discounts: p.discount.value },
      );
    }
  }

  async refundSucceeded(m: Manager, p: EventPayload<'refund.succeeded'>): Promise<void> {
    const timezone = await this.merchantTimezone(m, p.merchantId);
    await this.recordRefund(m, timezone, {
      refundId: p.refundId,
      kind: 'refund',
      paymentId: p.paymentId,
      merchantId: p.merchantId,
      orderId: p.orderId,
      value: p.amount.value,
      currency: p.amount.currency,
      at: p.succeededAt,
      partnerRefundId: p.partnerRefundId,
    });
  }

  /**
   * A cancel that reversed captured money is a full refund of what was not refunded yet, on the
   * day of the cancel. A reversal of a payment the ledger never saw succeed (the wallet captured
   * while the payment was still `processing`) nets to zero and is not counted.
   */
  async paymentCancelled(m: Manager, p: EventPayload<'payment.cancelled'>): Promise<void> {
    if (!p.reversed) return;
    // The merchant row first, like every other fact, so lock order matches merchant.onboarded's.
    const timezone = await this.merchantTimezone(m, p.merchantId);
    const rows = (await m.query(
      `SELECT (amount_value - refunded_value)::text AS remaining, currency, fee_value::text AS fee
       FROM ledger_payments WHERE payment_id = $1 FOR UPDATE`,
      [p.paymentId],
    )) as { remaining: string; currency: string; fee: string }[];
    const payment = rows[0];
    if (!payment) {
      this.logger.info(
        { paymentId: p.paymentId },
        'reversal of a payment never recorded as succeeded; nothing to count',
      );
      return;
    }
    await m.query(`UPDATE ledger_payments SET reversed_at = COALESCE(reversed_at, $2) WHERE payment_id = $1`, [
      p.paymentId,
      p.cancelledAt,
    ]);
    const remaining = Math.max(0, toInt(payment.remaining));
    if (remaining === 0) return;
    await this.recordRefund(m, timezone, {
      refundId: reversalId(p.paymentId),
      kind: 'reversal',
      paymentId: p.paymentId,
      merchantId: p.merchantId,
      orderId: p.orderId,
      value: remaining,
      currency: payment.currency,
      at: p.cancelledAt,
      partnerRefundId: null,
      // The wallet returns the payment's fee on a cancel/reversal (never on a refund).
      feeReturned: toInt(payment.fee),
    });
  }

  private async recordRefund(
    m: Manager,
    timezone: string | null,
    r: {
      refundId: string;
      kind: 'refund' | 'reversal';
      paymentId: string;
      merchantId: string;
      orderId: string;
      value: number;
      currency: string;
      at: string;
      partnerRefundId: string | null;
      feeReturned?: number;
    },
  ): Promise<void> {
    const date = timezone ? businessDate(r.at, timezone) : null;
    const payments = (await m.query(
      `SELECT exchange_rate, settlement_currency FROM ledger_payments WHERE payment_id = $1`,
      [r.paymentId],
    )) as { exchange_rate: string | null; settlement_currency: string | null }[];
    const pay = payments[0];
    const settlementCurrency = pay?.settlement_currency ?? r.currency;
    const settlement =
      pay?.exchange_rate && pay.settlement_currency && pay.settlement_currency !== r.currency
        ? convertMinor(r.value, r.currency, pay.settlement_currency, pay.exchange_rate)
        : r.value;
    const fee = r.feeReturned ?? 0;
    const inserted = (await m.query(
      `INSERT INTO ledger_refunds (refund_id, kind, payment_id, merchant_id, order_id, amount_value, currency, succeeded_at,
                                   business_date, partner_refund_id, fee_value, settlement_value)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::date, $10, $11, $12)
       ON CONFLICT (refund_id) DO NOTHING
       RETURNING refund_id`,
      [
        r.refundId,
        r.kind,
        r.paymentId,
        r.merchantId,
        r.orderId,
        r.value,
        r.currency,
        r.at,
        date,
        r.partnerRefundId,
        fee,
        settlement,
      ],
    )) as unknown[];
    if (inserted.length === 0) return;
    await m.query(`UPDATE ledger_payments SET refunded_value = refunded_value + $2 WHERE payment_id = $1`, [
      r.paymentId,
      r.value,
    ]);
    if (date) {
      await bumpDailyTotals(
        m,
        { merchantId: r.merchantId, date, currency: r.currency },
        {
          refunds: r.value,
          refundCount: 1,
          fees: -fee,
          settlementRefunds: settlement,
          settlementCurrency,
        },
      );
    }
  }

  async ticketsIssued(m: Manager, p: EventPayload<'tickets.issued'>): Promise<void> {
    await this.ticketsIssuedMany(m, [p]);
  }

  /** `ticketsIssued` for a run of events: one insert for all their tickets. */
  async ticketsIssuedMany(m: Manager, list: EventPayload<'tickets.issued'>[]): Promise<void> {
    const zones = await this.merchantTimezones(
      m,
      list.map((p) => p.merchantId),
    );
    const rows: { p: EventPayload<'tickets.issued'>; t: IssuedTicket; date: string | null }[] = [];
    for (const p of list) {
      const timezone = zones.get(p.merchantId) ?? null;
      const date = timezone ? businessDate(p.issuedAt, timezone) : null;
      for (const t of p.tickets) rows.push({ p, t, date });
    }
    if (rows.length === 0) return;
    const inserted = (await m.query(
      `INSERT INTO tickets (ticket_id, order_id, merchant_id, attraction_id, payment_id, product_id, product_kind, slot_id,
                            valid_from, valid_to, max_entries, currency, issued_at, business_date)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                            $9::timestamptz[], $10::timestamptz[], $11::int[], $12::text[], $13::timestamptz[], $14::date[])
       ON CONFLICT (ticket_id) DO NOTHING
       RETURNING ticket_id`,
      [
        rows.map((r) => r.t.ticketId),
        rows.map((r) => r.p.orderId),
        rows.map((r) => r.p.merchantId),
        rows.map((r) => r.p.attractionId),
        rows.map((r) => r.p.paymentId),
        rows.map((r) => r.t.productId),
        rows.map((r) => r.t.productKind),
        rows.map((r) => r.t.slotId),
        rows.map((r) => r.t.validFrom),
        rows.map((r) => r.t.validTo),
        rows.map((r) => r.t.maxEntries),
        rows.map((r) => r.p.amountPaid.currency),
        rows.map((r) => r.p.issuedAt),
        rows.map((r) => r.date),
      ],
    )) as { ticket_id: string }[];
    const fresh = new Set(inserted.map((r) => r.ticket_id));
    const bumps: { key: DailyKey; delta: DailyDelta }[] = [];
    for (const { p, t, date } of rows) {
      if (!date || !fresh.delete(t.ticketId)) continue;
      bumps.push({ key: { merchantId: p.merchantId, date, currency: p.amountPaid.currency }, delta: { tickets: 1 } });
    }
    await bumpDailyTotalsMany(m, bumps);
  }
}

type IssuedTicket = EventPayload<'tickets.issued'>['tickets'][number];

function toInt(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`not a safe integer: ${text}`);
  return n;
}
