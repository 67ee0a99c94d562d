import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource, EntityManager } from 'typeorm';
import { newId, type EventPayload } from '@admit/contracts';
import { createLogger } from '@admit/messaging';
import type { Principal } from '@admit/service-kit';
import { scratchDatabase, type ScratchDb } from '@admit/testing';
import { REPORTING_MIGRATIONS } from '../database/migrations';
import { ReportsService } from '../reports/reports.service';
import { VisitorsConsumer } from '../visitors/visitors.consumer';
import { LedgerConsumer } from './ledger.consumer';

/**
 * The reporting handlers against a real PostgreSQL database created (and dropped) by this file,
 * with the service's own migration: counters, replays, pending facts, ownership and the flow.
 */
const logger = createLogger('reporting-int', 'silent');

let db: ScratchDb;
let ds: DataSource;
const ledger = new LedgerConsumer({ defaultMdrBps: 60 }, logger);
const visitors = new VisitorsConsumer(logger);

beforeAll(async () => {
  db = await scratchDatabase('admit_reporting_it', REPORTING_MIGRATIONS, 5);
  ds = db.ds;
});

afterAll(async () => {
  await db?.drop();
});

const tx = <T>(fn: (m: EntityManager) => Promise<T>) => ds.transaction(fn);

function merchant(timezone = 'Asia/Shanghai'): EventPayload<'merchant.onboarded'> {
  return {
    merchantId: newId('merchant'),
    name: 'Zoo',
    country: 'CN',
    city: 'Hangzhou',
    timezone,
    mcc: '7998',
    settlementCurrency: 'CNY',
    createdAt: '2026-04-01T00:00:00.000Z',
  };
}

function payment(
  merchantId: string,
  value: number,
  paidAt: string,
  currency: 'CNY' | 'JPY' = 'CNY',
): EventPayload<'payment.succeeded'> {
  return {
    paymentId: newId('payment'),
    orderId: newId('order'),
    merchantId,
    amount: { value, currency },
    wallet: 'alipay',
    walletTransactionId: randomBytes(14).toString('hex'),
    partnerTransId: randomUUID(),
    paidAt,
    exchangeRate: currency === 'CNY' ? null : '0.0471',
    settlementAmount: currency === 'CNY' ? null : { value: Math.round(value * 4.71), currency: 'CNY' },
  };
}

function refund(
  p: EventPayload<'payment.succeeded'>,
  value: number,
  succeededAt: string,
): EventPayload<'refund.succeeded'> {
  return {
    refundId: newId('refund'),
    paymentId: p.paymentId,
    orderId: p.orderId,
    merchantId: p.merchantId,
    amount: { value, currency: p.amount.currency },
    refundedTotal: { value, currency: p.amount.currency },
    fullyRefunded: value === p.amount.value,
    partnerRefundId: randomUUID(),
    succeededAt,
  };
}

function tickets(
  p: EventPayload<'payment.succeeded'>,
  count: number,
  issuedAt: string,
): EventPayload<'tickets.issued'> {
  return {
    orderId: p.orderId,
    merchantId: p.merchantId,
    attractionId: newId('attraction'),
    city: 'Hangzhou',
    paymentId: p.paymentId,
    customerReference: 'cust-1',
    amountPaid: p.amount,
    tickets: Array.from({ length: count }, () => ({
      ticketId: newId('ticket'),
      productId: newId('product'),
      productKind: 'admission' as const,
      slotId: null,
      validFrom: '2026-05-01T16:00:00.000Z',
      validTo: '2026-05-02T16:00:00.000Z',
      maxEntries: 1,
    })),
    issuedAt,
  };
}

const acquirer: Principal = { keyId: 'key_acquirer_env', scope: 'acquirer', merchantId: null, attractionId: null };
const merchantKey = (merchantId: string): Principal => ({
  keyId: newId('apiKey'),
  scope: 'merchant',
  merchantId,
  attractionId: null,
});

async function totals(merchantId: string | null, date: string, principal: Principal = acquirer) {
  const report = await new ReportsService(ds).daily(principal, { date, ...(merchantId ? { merchantId } : {}) });
  return report.totals;
}

describe('reporting ledger handlers (PostgreSQL)', () => {
  it('counts a payment on the merchant-time-zone date with its fee, once, even when replayed', async () => {
    const mch = merchant('Asia/Shanghai');
    await tx((m) => ledger.merchantOnboarded(m, mch));
    // 16:30 UTC on 1 May is 00:30 on 2 May in Shanghai.
    const pay = payment(mch.merchantId, 12_500, '2026-05-01T16:30:00.000Z');
    await tx((m) => ledger.paymentSucceeded(m, pay));
    await tx((m) => ledger.paymentSucceeded(m, pay)); // replay: natural key, no second count
    expect(await totals(mch.merchantId, '2026-05-01')).toEqual([]);
    const [day] = await totals(mch.merchantId, '2026-05-02');
    expect(day).toEqual({
      currency: 'CNY',
      gross: { value: 12_500, currency: 'CNY' },
      discounts: { value: 0, currency: 'CNY' },
      refunds: { value: 0, currency: 'CNY' },
      fees: { value: 75, currency: 'CNY' },
      net: { value: 12_425, currency: 'CNY' },
      paymentCount: 1,
      refundCount: 0,
      ticketCount: 0,
      settlement: {
        currency: 'CNY',
        gross: { value: 12_500, currency: 'CNY' },
        refunds: { value: 0, currency: 'CNY' },
        net: { value: 12_500, currency: 'CNY' },
      },
    });
    const [row] = (await ds.query(
      `SELECT fee_bps, fee_value::int AS fee, business_date::text AS d FROM ledger_payments WHERE payment_id = $1`,
      [pay.paymentId],
    )) as { fee_bps: number; fee: number; d: string }[];
    expect(row).toEqual({ fee_bps: 60, fee: 75, d: '2026-05-02' });
  });

  it('applies a merchant fee rate, refunds on their own date, reversals as full refunds, and tickets', async () => {
    const mch = merchant('Europe/Berlin');
    await tx((m) => ledger.merchantOnboarded(m, mch));
    await ds.query(`INSERT INTO merchant_fee_rates (merchant_id, mdr_bps) VALUES ($1, 250)`, [mch.merchantId]);
    const a = payment(mch.merchantId, 1_250, '2026-05-01T08:00:00.000Z');
    const b = payment(mch.merchantId, 4_000, '2026-05-01T09:00:00.000Z');
    const jpy = payment(mch.merchantId, 1_200, '2026-05-01T10:00:00.000Z', 'JPY');
    for (const p of [a, b, jpy]) await tx((m) => ledger.paymentSucceeded(m, p));
    await tx((m) => ledger.ticketsIssued(m, tickets(a, 2, '2026-05-01T08:00:01.000Z')));
    const t = tickets(b, 3, '2026-05-01T09:00:01.000Z');
    await tx((m) => ledger.ticketsIssued(m, t));
    await tx((m) => ledger.ticketsIssued(m, t)); // replay
    // a: partial refund the next day (Berlin time); b: reversed (cancelled after capture) the same day.
    const r = refund(a, 250, '2026-05-02T07:00:00.000Z');
    await tx((m) => ledger.refundSucceeded(m, r));
    await tx((m) => ledger.refundSucceeded(m, r));
    const cancel: EventPayload<'payment.cancelled'> = {
      paymentId: b.paymentId,
      orderId: b.orderId,
      merchantId: mch.merchantId,
      amount: b.amount,
      partnerTransId: b.partnerTransId,
      reversed: true,
      cancelledAt: '2026-05-01T09:05:00.000Z',
    };
    await tx((m) => ledger.paymentCancelled(m, cancel));
    await tx((m) => ledger.paymentCancelled(m, cancel));
    // A reversal of a payment the ledger never saw succeed, and a plain void: nothing to count.
    await tx((m) => ledger.paymentCancelled(m, { ...cancel, paymentId: newId('payment') }));
    await tx((m) => ledger.paymentCancelled(m, { ...cancel, paymentId: a.paymentId, reversed: false }));

    const may1 = await totals(mch.merchantId, '2026-05-01');
    expect(may1).toEqual([
      {
        currency: 'CNY',
        gross: { value: 5_250, currency: 'CNY' },
        discounts: { value: 0, currency: 'CNY' },
        refunds: { value: 4_000, currency: 'CNY' },
        // 1250 × 2.5 % = 31.25 → 31; 4000 × 2.5 % = 100, returned by the wallet with the reversal
        fees: { value: 31, currency: 'CNY' },
        net: { value: 5_250 - 4_000 - 31, currency: 'CNY' },
        paymentCount: 2,
        refundCount: 1,
        ticketCount: 5,
        settlement: {
          currency: 'CNY',
          gross: { value: 5_250, currency: 'CNY' },
          refunds: { value: 4_000, currency: 'CNY' },
          net: { value: 1_250, currency: 'CNY' },
        },
      },
      {
        currency: 'JPY',
        gross: { value: 1_200, currency: 'JPY' },
        discounts: { value: 0, currency: 'JPY' },
        refunds: { value: 0, currency: 'JPY' },
        fees: { value: 30, currency: 'JPY' },
        net: { value: 1_170, currency: 'JPY' },
        paymentCount: 1,
        refundCount: 0,
        ticketCount: 0,
        settlement: {
          currency: 'CNY',
          gross: { value: 5_652, currency: 'CNY' },
          refunds: { value: 0, currency: 'CNY' },
          net: { value: 5_652, currency: 'CNY' },
        },
      },
    ]);
    const may2 = await totals(mch.merchantId, '2026-05-02');
    expect(may2).toHaveLength(1);
    expect(may2[0]).toMatchObject({ refunds: { value: 250 }, net: { value: -250 }, refundCount: 1, paymentCount: 0 });
    const [ledgerB] = (await ds.query(
      `SELECT refunded_value::int AS refunded, reversed_at IS NOT NULL AS reversed FROM ledger_payments WHERE payment_id = $1`,
      [b.paymentId],
    )) as { refunded: number; reversed: boolean }[];
    expect(ledgerB).toEqual({ refunded: 4_000, reversed: true });
  });

  it('keeps facts of a merchant not onboarded yet and counts them when it arrives', async () => {
    const mch = merchant('America/New_York');
    const pay = payment(mch.merchantId, 2_000, '2026-05-02T03:00:00.000Z'); // 23:00 on 1 May in New York
    await tx((m) => ledger.paymentSucceeded(m, pay));
    await tx((m) => ledger.ticketsIssued(m, tickets(pay, 2, '2026-05-02T03:00:01.000Z')));
    await tx((m) => ledger.refundSucceeded(m, refund(pay, 500, '2026-05-02T05:00:00.000Z'))); // 01:00 on 2 May
    expect(await totals(null, '2026-05-01', merchantKey(mch.merchantId))).toEqual([]);
    await tx((m) => ledger.merchantOnboarded(m, mch));
    await tx((m) => ledger.merchantOnboarded(m, mch)); // replay: counted once
    expect(await totals(mch.merchantId, '2026-05-01')).toEqual([
      expect.objectContaining({
        gross: { value: 2_000, currency: 'CNY' },
        fees: { value: 12, currency: 'CNY' },
        paymentCount: 1,
        ticketCount: 2,
        refundCount: 0,
      }),
    ]);
    expect(await totals(mch.merchantId, '2026-05-02')).toEqual([
      expect.objectContaining({ refunds: { value: 500, currency: 'CNY' }, refundCount: 1 }),
    ]);
    const pending = (await ds.query(
      `SELECT (SELECT count(*) FROM ledger_payments WHERE merchant_id = $1 AND business_date IS NULL)
            + (SELECT count(*) FROM ledger_refunds WHERE merchant_id = $1 AND business_date IS NULL)
            + (SELECT count(*) FROM tickets WHERE merchant_id = $1 AND business_date IS NULL) AS n`,
      [mch.merchantId],
    )) as { n: string }[];
    expect(pending[0]?.n).toBe('0');
  });

  it('hands over between a fact and merchant.onboarded racing in two transactions, in either order', async () => {
    for (const factFirst of [true, false]) {
      const mch = merchant('Asia/Tokyo');
      const pay = payment(mch.merchantId, 3_000, '2026-05-01T12:00:00.000Z');
      const first = ds.createQueryRunner();
      await first.connect();
      await first.startTransaction();
      let second: Promise<void>;
      if (factFirst) {
        await ledger.paymentSucceeded(first.manager, pay);
        second = tx((m) => ledger.merchantOnboarded(m, mch));
      } else {
        await ledger.merchantOnboarded(first.manager, mch);
        second = tx((m) => ledger.paymentSucceeded(m, pay));
      }
      let settled = false;
      void second.then(
        () => (settled = true),
        () => (settled = true),
      );
      await sleep(300);
      expect(settled).toBe(false); // the second waits on the merchants row
      await first.commitTransaction();
      await first.release();
      await second;
      expect(await totals(mch.merchantId, '2026-05-01')).toEqual([
        expect.objectContaining({ gross: { value: 3_000, currency: 'CNY' }, paymentCount: 1 }),
      ]);
    }
  });

  it('counts a coupon discount once: gross carries it, discounts take it off, net stays captured − fees', async () => {
    const mch = merchant('Asia/Shanghai');
    await tx((m) => ledger.merchantOnboarded(m, mch));
    const pay = payment(mch.merchantId, 4_000, '2026-06-01T04:00:00.000Z');
    await tx((m) => ledger.paymentSucceeded(m, pay));
    const redeemed: EventPayload<'coupon.redeemed'> = {
      couponId: newId('coupon'),
      campaignId: newId('campaign'),
      merchantId: mch.merchantId,
      orderId: pay.orderId,
      discount: { value: 1_000, currency: 'CNY' },
      redeemedAt: '2026-06-01T03:59:00.000Z',
    };
    await tx((m) => ledger.couponRedeemed(m, redeemed));
    await tx((m) => ledger.couponRedeemed(m, redeemed)); // replay
    expect(await totals(mch.merchantId, '2026-06-01')).toEqual([
      expect.objectContaining({
        gross: { value: 5_000, currency: 'CNY' },
        discounts: { value: 1_000, currency: 'CNY' },
        fees: { value: 24, currency: 'CNY' },
        net: { value: 4_000 - 24, currency: 'CNY' },
        paymentCount: 1,
      }),
    ]);
  });

  it('scopes the daily report: a merchant sees itself whatever it asks, the acquirer sees one or all', async () => {
    const one = merchant('UTC');
    const two = merchant('UTC');
    for (const mch of [one, two]) await tx((m) => ledger.merchantOnboarded(m, mch));
    await tx((m) => ledger.paymentSucceeded(m, payment(one.merchantId, 1_000, '2030-01-01T10:00:00.000Z')));
    await tx((m) => ledger.paymentSucceeded(m, payment(two.merchantId, 3_000, '2030-01-01T11:00:00.000Z')));
    const svc = new ReportsService(ds);
    const own = await svc.daily(merchantKey(one.merchantId), { date: '2030-01-01', merchantId: two.merchantId });
    expect(own.merchantId).toBe(one.merchantId);
    expect(own.totals.map((t) => t.gross.value)).toEqual([1_000]);
    const all = await svc.daily(acquirer, { date: '2030-01-01' });
    expect(all.merchantId).toBeUndefined();
    expect(all.totals).toEqual([
      expect.objectContaining({
        currency: 'CNY',
        gross: { value: 4_000, currency: 'CNY' },
        paymentCount: 2,
        fees: { value: 6 + 18, currency: 'CNY' },
      }),
    ]);
    const second = await svc.daily(acquirer, { date: '2030-01-01', merchantId: two.merchantId });
    expect(second.totals.map((t) => t.gross.value)).toEqual([3_000]);
    await expect(svc.daily(acquirer, { date: '2030-01-01', merchantId: newId('merchant') })).rejects.toMatchObject({
      status: 404,
    });
  });
});

describe('reporting visitor handlers (PostgreSQL)', () => {
  it('keeps occupancy from admitted scans, never below zero, once per scan, and builds the flow', async () => {
    const mch = merchant('Asia/Shanghai');
    const attractionId = newId('attraction');
    await tx((m) =>
      visitors.attractionCreated(m, {
        attractionId,
        merchantId: mch.merchantId,
        name: 'Zoo',
        city: 'Hangzhou',
        timezone: 'Asia/Shanghai',
        createdAt: '2026-04-01T00:00:00.000Z',
      }),
    );
    const scan = (
      gateId: string,
      direction: 'in' | 'out',
      scannedAt: string,
      result: 'admitted' | 'rejected' = 'admitted',
    ): EventPayload<'scan.recorded'> => ({
      scanId: `scn_${randomBytes(12).toString('hex')}`,
      ticketId: newId('ticket'),
      orderId: newId('order'),
      merchantId: mch.merchantId,
      attractionId,
      gateId,
      direction,
      result,
      reason: result === 'rejected' ? 'ALREADY_USED' : null,
      scannedAt,
    });
    const svc = new ReportsService(ds);
    const owner = merchantKey(mch.merchantId);
    // An exit before anyone entered stays at zero.
    await tx((m) => visitors.scanRecorded(m, scan('gate-a', 'out', '2026-05-01T00:59:00.000Z')));
    expect((await svc.occupancy(owner, { attractionId })).inside).toBe(0);
    const entries = [
      scan('gate-a', 'in', '2026-05-01T01:00:00.000Z'), // 09:00 local
      scan('gate-a', 'in', '2026-05-01T01:05:00.000Z'),
      scan('gate-b', 'in', '2026-05-01T01:14:59.000Z'),
      scan('gate-b', 'in', '2026-05-01T01:15:00.000Z'), // 09:15 local
      scan('gate-a', 'in', '2026-05-01T01:20:00.000Z', 'rejected'),
    ];
    for (const s of entries) {
      await tx((m) => visitors.scanRecorded(m, s));
      await tx((m) => visitors.scanRecorded(m, s)); // replay
    }
    await tx((m) => visitors.scanRecorded(m, scan('gate-b', 'out', '2026-05-01T01:30:00.000Z')));
    await tx((m) => visitors.scanRecorded(m, scan('gate-a', 'in', '2026-05-01T16:00:00.000Z'))); // next local day
    const occ = await svc.occupancy(owner, { attractionId });
    expect(occ).toEqual({ attractionId, inside: 4, asOf: expect.any(String) });
    await expect(svc.occupancy(merchantKey(newId('merchant')), { attractionId })).rejects.toMatchObject({
      status: 404,
    });
    await expect(svc.occupancy(acquirer, { attractionId: newId('attraction') })).rejects.toMatchObject({ status: 404 });

    const flow = await svc.visitorFlow(acquirer, { attractionId, date: '2026-05-01', interval: '15m' });
    expect(flow.buckets).toHaveLength(96);
    expect(flow.buckets[0]?.start).toBe('2026-04-30T16:00:00Z');
    const busy = flow.buckets.filter((b) => b.admissions > 0 || b.exits > 0);
    expect(busy).toEqual([
      { start: '2026-05-01T00:45:00Z', admissions: 0, exits: 1, byGate: {} },
      { start: '2026-05-01T01:00:00Z', admissions: 3, exits: 0, byGate: { 'gate-a': 2, 'gate-b': 1 } },
      { start: '2026-05-01T01:15:00Z', admissions: 1, exits: 0, byGate: { 'gate-b': 1 } },
      { start: '2026-05-01T01:30:00Z', admissions: 0, exits: 1, byGate: {} },
    ]);
    expect(flow.peak).toEqual({ start: '2026-05-01T01:00:00Z', admissions: 3 });
    const hourly = await svc.visitorFlow(owner, { attractionId, date: '2026-05-01', interval: '1h' });
    expect(hourly.buckets).toHaveLength(24);
    expect(hourly.peak).toEqual({ start: '2026-05-01T01:00:00Z', admissions: 4 });
    const empty = await svc.visitorFlow(owner, { attractionId, date: '2026-04-01', interval: '15m' });
    expect(empty.peak).toBeNull();
  });
});

describe('reporting batch handlers (PostgreSQL)', () => {
  /** Every row a set of merchants owns, without the columns that hold the insert time. */
  async function snapshot(merchantIds: string[], attractionIds: string[]) {
    const q = async (sql: string, params: unknown[]) =>
      ((await ds.query(sql, params)) as Record<string, unknown>[]).map((r) => {
        const { recorded_at: _r, updated_at: _u, created_at: _c, ...rest } = r;
        return rest;
      });
    return {
      merchants: await q(`SELECT * FROM merchants WHERE id = ANY($1) ORDER BY id`, [merchantIds]),
      payments: await q(`SELECT * FROM ledger_payments WHERE merchant_id = ANY($1) ORDER BY payment_id`, [merchantIds]),
      tickets: await q(`SELECT * FROM tickets WHERE merchant_id = ANY($1) ORDER BY ticket_id`, [merchantIds]),
      totals: await q(`SELECT * FROM daily_totals WHERE merchant_id = ANY($1) ORDER BY 1, 2, 3`, [merchantIds]),
      scans: await q(`SELECT * FROM scans WHERE attraction_id = ANY($1) ORDER BY scan_id`, [attractionIds]),
      occupancy: await q(`SELECT * FROM attraction_occupancy WHERE attraction_id = ANY($1) ORDER BY 1`, [
        attractionIds,
      ]),
    };
  }

  async function forget(merchantIds: string[], attractionIds: string[]) {
    for (const table of ['ledger_payments', 'tickets', 'daily_totals'])
      await ds.query(`DELETE FROM ${table} WHERE merchant_id = ANY($1)`, [merchantIds]);
    await ds.query(`DELETE FROM scans WHERE attraction_id = ANY($1)`, [attractionIds]);
    await ds.query(`DELETE FROM attraction_occupancy WHERE attraction_id = ANY($1)`, [attractionIds]);
    await ds.query(`DELETE FROM merchants WHERE id = ANY($1)`, [merchantIds]);
  }

  it('have exactly the effect of the single handlers applied one event after the other', async () => {
    const known = merchant('Asia/Tokyo');
    const pending = merchant(); // never onboarded here: its facts wait with business_date NULL
    await ds.query(`INSERT INTO merchant_fee_rates (merchant_id, mdr_bps) VALUES ($1, 125)`, [known.merchantId]);
    const pays = [
      payment(known.merchantId, 10_000, '2026-05-01T14:59:59.000Z'), // 23:59:59 in Tokyo
      payment(known.merchantId, 333, '2026-05-01T15:00:00.000Z'), // next Tokyo day
      payment(known.merchantId, 5_000, '2026-05-01T10:00:00.000Z', 'JPY'),
      payment(pending.merchantId, 700, '2026-05-01T10:00:00.000Z'),
    ];
    const payList = [...pays, pays[0]!, pays[2]!]; // redelivered facts inside one run
    const issued = [tickets(pays[0]!, 3, '2026-05-01T14:59:59.000Z'), tickets(pays[3]!, 1, '2026-05-01T10:00:00.000Z')];
    const issuedList = [...issued, issued[0]!];
    const attractions = [newId('attraction'), newId('attraction')];
    const scan = (i: number, direction: 'in' | 'out', at: string, result: 'admitted' | 'rejected' = 'admitted') => ({
      scanId: `scn_${randomBytes(12).toString('hex')}`,
      ticketId: newId('ticket'),
      orderId: newId('order'),
      merchantId: known.merchantId,
      attractionId: attractions[i]!,
      gateId: `gate-${i}`,
      direction,
      result,
      reason: result === 'rejected' ? 'ALREADY_USED' : null,
      scannedAt: at,
    });
    const scans = [
      scan(0, 'out', '2026-05-01T01:00:00.000Z'), // exit before any entry: stays at zero
      scan(0, 'in', '2026-05-01T01:01:00.000Z'),
      scan(1, 'in', '2026-05-01T01:02:00.000Z'),
      scan(0, 'in', '2026-05-01T01:03:00.000Z', 'rejected'),
      scan(0, 'in', '2026-05-01T00:30:00.000Z'), // late arrival with an older time
      scan(1, 'out', '2026-05-01T01:05:00.000Z'),
      scan(1, 'out', '2026-05-01T01:06:00.000Z'), // below zero is clamped
      scan(1, 'in', '2026-05-01T01:07:00.000Z'),
    ];
    const scanList = [...scans, scans[1]!];
    const merchants = [known.merchantId, pending.merchantId];

    await tx((m) => ledger.merchantOnboarded(m, known));
    for (const p of payList) await tx((m) => ledger.paymentSucceeded(m, p));
    for (const t of issuedList) await tx((m) => ledger.ticketsIssued(m, t));
    for (const sc of scanList) await tx((m) => visitors.scanRecorded(m, sc));
    const one = await snapshot(merchants, attractions);

    await forget(merchants, attractions);
    await tx((m) => ledger.merchantOnboarded(m, known));
    const batch = { ...ledger.batchHandlers(), ...visitors.batchHandlers() };
    const wrap = <T>(list: T[]) => list.map((payload) => ({ payload, envelope: {} as never, offset: '0' }));
    const ctx = (m: EntityManager) => ({ manager: m, topic: 't', partition: 0 });
    await tx((m) => batch['payment.succeeded']!(wrap(payList), ctx(m)));
    await tx((m) => batch['tickets.issued']!(wrap(issuedList), ctx(m)));
    // scans in two runs, as two consumer chunks would deliver them
    await tx((m) => batch['scan.recorded']!(wrap(scanList.slice(0, 4)), ctx(m)));
    await tx((m) => batch['scan.recorded']!(wrap(scanList.slice(4)), ctx(m)));
    const many = await snapshot(merchants, attractions);

    expect(many).toEqual(one);
    // and the reference itself is what the single-handler tests above establish
    expect(one.payments).toHaveLength(4);
    expect(one.tickets).toHaveLength(4);
    const occupancy = new Map(
      one.occupancy.map((o) => [o['attraction_id'], [o['inside'], o['admissions'], o['exits']].map(Number)]),
    );
    expect(occupancy.get(attractions[0])).toEqual([2, 2, 1]);
    expect(occupancy.get(attractions[1])).toEqual([1, 2, 2]);
  });
});

describe('reporting migration', () => {
  it('reverts cleanly', async () => {
    for (let i = 0; i < REPORTING_MIGRATIONS.length; i++) await ds.undoLastMigration({ transaction: 'each' });
    const left = (await ds.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)) as {
      tablename: string;
    }[];
    expect(left.map((t) => t.tablename)).toEqual(['schema_migrations']);
  });
});
