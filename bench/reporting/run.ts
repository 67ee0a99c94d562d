/**
 * Reporting benchmark (issue 6): ingest rate side by side with Kafka's own consumer, the daily
 * report over one million tickets of history, and reporting's RSS.
 *
 * A private broker and the e2e stack (startStack); a merchant onboarded through payment (so
 * reporting knows its time zone). With reporting stopped, the bench produces N events with valid
 * envelopes (per sale: payment.succeeded, tickets.issued with two tickets, two scan.recorded) on
 * `payments`, `tickets` and `scans`; then it starts reporting and measures how fast its inbox
 * fills (inbox rows per second, from processed_at). Kafka's ConsumerPerformance then reads the same
 * messages from the same topics (infra/kafka/perf.sh consumer). Then the merchant's history is
 * seeded directly in reporting's tables with generate_series (1,000,000 tickets over 365 days,
 * 500,000 payments, daily_totals) and GET /v1/reports/daily is timed (acquirer key, merchantId).
 *
 * env: BENCH_REPORTING_SALES (30000 → 120,000 events), BENCH_REPORTING_TICKETS (1000000),
 *      BENCH_REPORTING_REQUESTS (2000), BENCH_KAFKA_BROKERS.
 * Writes bench/results/reporting-<ISO>.json and reporting-latest.json.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { Client } from 'pg';
import { newId, TOPICS } from '@admit/contracts';
import type { Stack } from '@admit/testing';
import { repoRoot } from '../backbone/common';
import { pidListeningOn, RssSampler } from '../payment/proc';
import { loadStackModule } from '../payment/stack';
import { run } from '../payment/tools';
import {
  envelope,
  percentiles,
  postJson,
  r1,
  say,
  startBroker,
  stopBroker,
  until,
  writeResults,
  type Broker,
  type KafkaMessage,
  type Percentiles,
} from '../promotions/kit';

const num = (name: string, def: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : def;
};
const SALES = num('BENCH_REPORTING_SALES', 30000);
const HISTORY_TICKETS = num('BENCH_REPORTING_TICKETS', 1_000_000);
const REQUESTS = num('BENCH_REPORTING_REQUESTS', 2000);
const CONCURRENCY = num('BENCH_REPORTING_CONCURRENCY', 4);
const PORT_BASE = num('BENCH_PORT_BASE', 20400);
const PG = process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432';
const TARGET = { ingestPerSec: 10_000, dailyP95Ms: 50, rssMb: 256 };
const EVENT_TYPES = ['payment.succeeded', 'tickets.issued', 'scan.recorded'];

async function withDb<T>(database: string, f: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: `${PG}/${database}` });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

/** All events of `sales` sales, grouped by topic. */
function events(merchantId: string, attractionId: string, sales: number): Map<string, KafkaMessage[]> {
  const out = new Map<string, KafkaMessage[]>();
  const add = (e: { topic: string; message: KafkaMessage }): void => {
    const list = out.get(e.topic);
    if (list) list.push(e.message);
    else out.set(e.topic, [e.message]);
  };
  const now = new Date().toISOString();
  const validTo = new Date(Date.now() + 86_400_000).toISOString();
  for (let i = 0; i < sales; i++) {
    const orderId = newId('order');
    const paymentId = newId('payment');
    const validate = i === 0; // schemas checked once; the rest are the same shape
    add(
      envelope(
        'payment.succeeded',
        merchantId,
        'payment',
        paymentId,
        {
          paymentId,
          orderId,
          merchantId,
          amount: { value: 9000, currency: 'CNY' },
          wallet: 'alipay',
          walletTransactionId: `2026${String(i).padStart(12, '0')}`,
          partnerTransId: `bench_${i}_${randomUUID().slice(0, 8)}`,
          paidAt: now,
          exchangeRate: null,
          settlementAmount: null,
        },
        validate,
      ),
    );
    const tickets = [0, 1].map(() => ({
      ticketId: newId('ticket'),
      productId: 'prd_bench',
      productKind: 'admission' as const,
      slotId: null,
      validFrom: now,
      validTo,
      maxEntries: 1,
    }));
    add(
      envelope(
        'tickets.issued',
        merchantId,
        'order',
        orderId,
        {
          orderId,
          merchantId,
          attractionId,
          city: 'Hangzhou',
          paymentId,
          customerReference: null,
          amountPaid: { value: 9000, currency: 'CNY' },
          tickets,
          issuedAt: now,
        },
        validate,
      ),
    );
    for (const [k, t] of tickets.entries()) {
      const scanId = newId('scan');
      add(
        envelope(
          'scan.recorded',
          merchantId,
          'ticket',
          t.ticketId,
          {
            scanId,
            ticketId: t.ticketId,
            orderId,
            merchantId,
            attractionId,
            gateId: `gate_${k}`,
            direction: 'in',
            result: 'admitted',
            reason: null,
            scannedAt: now,
          },
          validate,
        ),
      );
    }
  }
  return out;
}

type KafkaConsumerPerf = {
  topic: string;
  messages: number;
  nMsgPerSec: number;
  fetchNMsgPerSec: number;
  seconds: number;
};

/** ConsumerPerformance on one topic; parses its one CSV line. */
async function consumerPerf(
  root: string,
  brokers: string,
  topic: string,
  messages: number,
): Promise<KafkaConsumerPerf> {
  const r = await run(
    'bash',
    [
      'infra/kafka/perf.sh',
      'consumer',
      '--bootstrap-server',
      brokers,
      '--topic',
      topic,
      '--messages',
      String(messages),
      '--timeout',
      '20000',
    ],
    { cwd: root },
  );
  const lines = r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const hi = lines.findIndex((l) => l.includes('nMsg.sec'));
  if (hi < 0 || !lines[hi + 1])
    throw new Error(`ConsumerPerformance ${topic}: ${r.stdout.slice(-800)} ${r.stderr.slice(-800)}`);
  const head = lines[hi]!.split(',').map((s) => s.trim());
  const vals = lines[hi + 1]!.split(',').map((s) => s.trim());
  const get = (name: string): number => Number(vals[head.indexOf(name)]);
  const consumed = get('data.consumed.in.nMsg');
  const fetchRate = get('fetch.nMsg.sec');
  return {
    topic,
    messages: consumed,
    nMsgPerSec: r1(get('nMsg.sec')),
    fetchNMsgPerSec: r1(fetchRate),
    seconds: fetchRate > 0 ? r1(consumed / fetchRate, 3) : NaN,
  };
}

/** One merchant's history straight into reporting's tables. */
async function seedHistory(db: string, merchantId: string, attractionId: string, tickets: number): Promise<number> {
  const t0 = Date.now();
  const payments = Math.floor(tickets / 2);
  await withDb(db, async (c) => {
    await c.query(`SET synchronous_commit = off`);
    await c.query(
      `INSERT INTO ledger_payments (payment_id, merchant_id, order_id, amount_value, currency, paid_at, business_date, wallet,
                                    wallet_transaction_id, partner_trans_id, fee_bps, fee_value)
       SELECT 'pay_h' || g, $1, 'ord_h' || g, 9000, 'CNY', d + interval '10 hours', (d AT TIME ZONE 'UTC')::date, 'alipay',
              'wtx_h' || g, 'ptx_h' || g, 60, 54
       FROM generate_series(1, $2::int) g, LATERAL (SELECT timestamptz '2025-11-26 00:00Z' + ((g % 365) || ' days')::interval AS d) x`,
      [merchantId, payments],
    );
    await c.query(
      `INSERT INTO tickets (ticket_id, order_id, merchant_id, attraction_id, payment_id, product_id, product_kind, slot_id,
                            valid_from, valid_to, max_entries, currency, issued_at, business_date)
       SELECT 'tkt_h' || g, 'ord_h' || (g / 2 + 1), $1, $2, 'pay_h' || (g / 2 + 1), 'prd_bench', 'admission', NULL,
              d, d + interval '1 day', 1, 'CNY', d + interval '10 hours', (d AT TIME ZONE 'UTC')::date
       FROM generate_series(0, $3::int - 1) g,
            LATERAL (SELECT timestamptz '2025-11-26 00:00Z' + (((g / 2 + 1) % 365) || ' days')::interval AS d) x`,
      [merchantId, attractionId, tickets],
    );
    await c.query(
      `INSERT INTO daily_totals (merchant_id, business_date, currency, gross_value, fee_value, payment_count, ticket_count,
                                 settlement_currency, settlement_gross_value)
       SELECT $1, p.business_date, 'CNY', p.gross, p.fee, p.n, coalesce(t.n, 0), 'CNY', p.gross
       FROM (SELECT business_date, sum(amount_value) AS gross, sum(fee_value) AS fee, count(*) AS n
               FROM ledger_payments WHERE merchant_id = $1 AND payment_id LIKE 'pay_h%' GROUP BY business_date) p
       LEFT JOIN (SELECT business_date, count(*) AS n
                    FROM tickets WHERE merchant_id = $1 AND ticket_id LIKE 'tkt_h%' GROUP BY business_date) t
         USING (business_date)
       ON CONFLICT (merchant_id, business_date, currency) DO UPDATE SET
         gross_value = daily_totals.gross_value + EXCLUDED.gross_value,
         fee_value = daily_totals.fee_value + EXCLUDED.fee_value,
         payment_count = daily_totals.payment_count + EXCLUDED.payment_count,
         ticket_count = daily_totals.ticket_count + EXCLUDED.ticket_count,
         settlement_gross_value = daily_totals.settlement_gross_value + EXCLUDED.settlement_gross_value`,
      [merchantId],
    );
    await c.query(`VACUUM ANALYZE ledger_payments, tickets, daily_totals`);
  });
  return r1((Date.now() - t0) / 1000);
}

async function dailyReport(
  url: string,
  key: string,
  merchantId: string,
): Promise<{
  requests: number;
  concurrency: number;
  non200: number;
  perSec: number;
  latencyMs: Percentiles;
  sample: unknown;
}> {
  const dates = Array.from({ length: 30 }, (_, i) => new Date(Date.UTC(2026, 5, 1 + i)).toISOString().slice(0, 10));
  const get = (i: number): Promise<Response> =>
    fetch(`${url}/v1/reports/daily?date=${dates[i % dates.length]}&merchantId=${merchantId}`, {
      headers: { authorization: `Bearer ${key}` },
    });
  const sample = await (await get(0)).json().catch(() => null);
  for (let i = 0; i < 100; i++) await (await get(i)).arrayBuffer(); // warm-up
  const lat: number[] = [];
  let non200 = 0;
  let next = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        const i = next++;
        const s = performance.now();
        const r = await get(i);
        await r.arrayBuffer();
        lat.push(performance.now() - s);
        if (r.status !== 200) non200++;
      }
    }),
  );
  return {
    requests: lat.length,
    concurrency: CONCURRENCY,
    non200,
    perSec: r1(lat.length / ((Date.now() - t0) / 1000)),
    latencyMs: percentiles(lat),
    sample,
  };
}

async function main(): Promise<void> {
  const root = repoRoot();
  const started = new Date();
  const load0 = loadavg();
  const errors: string[] = [];
  const { startStack } = loadStackModule(root);
  let broker: Broker | undefined;
  let stack: Stack | undefined;
  const out: Record<string, unknown> = {};
  let rss: RssSampler | undefined;
  let ingestRate: number | null = null;
  let kafkaRate: number | null = null;
  let daily: Awaited<ReturnType<typeof dailyReport>> | undefined;
  try {
    broker = await startBroker(root, 'reporting', 19500);
    say(`broker ${broker.brokers}; starting the stack (ports ${PORT_BASE}+)`);
    stack = await startStack({
      name: 'bench_reporting',
      portBase: PORT_BASE,
      env: { LOG_LEVEL: 'warn', KAFKA_BROKERS: broker.brokers, OUTBOX_KEEP_PUBLISHED_MS: '0' },
      logDir: join(root, 'test-artifacts', 'logs', 'bench_reporting'),
    });
    const onboard = await postJson(`${stack.urls.payment}/v1/merchants`, stack.acquirerKey, {
      name: 'Bench Reporting',
      country: 'CN',
      city: 'Hangzhou',
      timezone: 'Asia/Shanghai',
      mcc: '7991',
      settlementCurrency: 'CNY',
    });
    if (onboard.status !== 201) throw new Error(`onboarding: ${onboard.status} ${JSON.stringify(onboard.body)}`);
    const merchantId = onboard.body['id'] as string;
    const db = stack.databases.reporting;
    await until(
      () =>
        withDb(db, (c) => c.query(`SELECT 1 FROM merchants WHERE id = $1 AND onboarded_at IS NOT NULL`, [merchantId])),
      (r) => (r.rowCount ?? 0) > 0,
      120_000,
      500,
    );
    const attractionId = newId('attraction');
    await withDb(db, (c) =>
      c.query(
        `INSERT INTO attractions (id, merchant_id, name, city, timezone, created_at) VALUES ($1, $2, 'Bench', 'Hangzhou', 'Asia/Shanghai', now())`,
        [attractionId, merchantId],
      ),
    );
    // only reporting is under test
    for (const s of ['reporting', 'ticketing', 'promotions', 'payment'] as const) stack.kill(s);

    // ------------------------------------------------------------------ produce, reporting stopped
    const byTopic = events(merchantId, attractionId, SALES);
    const total = [...byTopic.values()].reduce((a, l) => a + l.length, 0);
    const kafka = new Kafka({
      clientId: 'bench-reporting',
      brokers: broker.brokers.split(','),
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    const p0 = Date.now();
    const chunks: { topic: string; messages: KafkaMessage[] }[] = [];
    for (const [topic, list] of byTopic)
      for (let i = 0; i < list.length; i += 1000) chunks.push({ topic, messages: list.slice(i, i + 1000) });
    let ci = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (ci < chunks.length) {
          const c = chunks[ci++]!;
          await producer.send({ topic: c.topic, messages: c.messages, acks: -1 });
        }
      }),
    );
    const produceSec = (Date.now() - p0) / 1000;
    await producer.disconnect();
    out['produced'] = {
      events: total,
      byTopic: Object.fromEntries([...byTopic].map(([t, l]) => [t, l.length])),
      seconds: r1(produceSec, 2),
      perSec: r1(total / produceSec),
    };
    say(`produced ${total} events in ${r1(produceSec, 2)} s`);

    // ------------------------------------------------------------------ ingest
    const before = await withDb(db, (c) =>
      c.query<{ n: number }>(`SELECT count(*)::int AS n FROM inbox WHERE event_type = ANY($1)`, [EVENT_TYPES]),
    );
    const n0 = before.rows[0]?.n ?? 0;
    const i0 = Date.now();
    await stack.restart('reporting');
    const pid = await pidListeningOn(PORT_BASE + 4);
    if (pid) {
      rss = new RssSampler(pid);
      rss.start();
    }
    const done = await until(
      () =>
        withDb(db, (c) =>
          c.query<{ n: number }>(`SELECT count(*)::int AS n FROM inbox WHERE event_type = ANY($1)`, [EVENT_TYPES]),
        ),
      (r) => (r.rows[0]?.n ?? 0) - n0 >= total,
      120_000,
      250,
    ).catch((e: unknown) => {
      errors.push(`ingest: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    });
    const wallSec = (Date.now() - i0) / 1000;
    const [span] = (
      await withDb(db, (c) =>
        c.query<{ n: number; s: number; dead: number }>(
          `SELECT count(*)::int AS n, extract(epoch FROM max(processed_at) - min(processed_at))::float AS s,
                  count(*) FILTER (WHERE status <> 'processed')::int AS dead
           FROM inbox WHERE event_type = ANY($1) AND processed_at >= to_timestamp($2::double precision / 1000)`,
          [EVENT_TYPES, i0 - 1000],
        ),
      )
    ).rows;
    ingestRate = span && span.s > 0 ? r1(span.n / span.s) : null;
    out['ingest'] = {
      events: span?.n ?? null,
      deadLettered: span?.dead ?? null,
      firstToLastSec: span ? r1(span.s, 3) : null,
      inboxRowsPerSec: ingestRate,
      wallIncludingStartSec: r1(wallSec, 2),
      complete: done !== undefined,
    };
    say(`ingest: ${JSON.stringify(out['ingest'])}`);

    // ------------------------------------------------------------------ Kafka's own consumer
    const perf: KafkaConsumerPerf[] = [];
    for (const [topic, list] of byTopic) perf.push(await consumerPerf(root, broker.brokers, topic, list.length));
    const sumMsgs = perf.reduce((a, p) => a + p.messages, 0);
    const sumSec = perf.reduce((a, p) => a + p.seconds, 0);
    kafkaRate = sumSec > 0 ? r1(sumMsgs / sumSec) : null;
    out['kafkaConsumerPerformance'] = { perTopic: perf, combinedNMsgPerSec: kafkaRate };
    say(`ConsumerPerformance: ${JSON.stringify(out['kafkaConsumerPerformance'])}`);

    // ------------------------------------------------------------------ daily report over history
    say(`seeding ${HISTORY_TICKETS} tickets of history`);
    const seedSec = await seedHistory(db, merchantId, attractionId, HISTORY_TICKETS);
    const [counts] = (
      await withDb(db, (c) =>
        c.query<{ tickets: number; payments: number }>(
          `SELECT (SELECT count(*) FROM tickets WHERE merchant_id = $1)::int AS tickets,
                  (SELECT count(*) FROM ledger_payments WHERE merchant_id = $1)::int AS payments`,
          [merchantId],
        ),
      )
    ).rows;
    out['history'] = { ...counts, seedSeconds: seedSec };
    daily = await dailyReport(stack.urls.reporting, stack.acquirerKey, merchantId);
    say(`daily: ${JSON.stringify({ ...daily, sample: undefined })}`);
  } catch (e) {
    errors.push(e instanceof Error ? (e.stack ?? e.message) : String(e));
    say(`error: ${errors[errors.length - 1]}`);
  } finally {
    rss?.stop();
    if (stack) await stack.stop().catch(() => undefined);
    if (broker) await stopBroker(root, broker).catch(() => undefined);
  }
  const rssMb = rss ? rss.between(0, Date.now()) : null;
  const report = {
    bench: 'reporting',
    startedAt: started.toISOString(),
    durationSec: r1((Date.now() - started.getTime()) / 1000),
    machine: {
      cores: cpus().length,
      loadavgBefore: load0.map((x) => r1(x, 2)),
      loadavgAfter: loadavg().map((x) => r1(x, 2)),
    },
    method: {
      ingest: `per sale: payment.succeeded, tickets.issued (2 tickets), 2 × scan.recorded; ${SALES} sales produced with reporting stopped, then reporting started; rate = inbox rows / (last processed_at − first)`,
      kafka:
        'infra/kafka/perf.sh consumer (ConsumerPerformance) over the same messages of each topic; combined = messages / Σ fetch time',
      daily: `history seeded with generate_series (tickets over 365 days, half as many payments, daily_totals); GET /v1/reports/daily?date=&merchantId= with the acquirer key, ${CONCURRENCY} concurrent, ${REQUESTS} requests over 30 dates`,
      rss: 'VmRSS of the reporting process sampled every 250 ms from its start through ingest and the report requests',
    },
    targets: TARGET,
    topics: [TOPICS.payments.name, TOPICS.tickets.name, TOPICS.scans.name],
    ...out,
    daily: daily ?? null,
    reportingRssMb: rssMb,
    ratios: { ingestVsKafkaConsumer: ingestRate && kafkaRate ? r1(ingestRate / kafkaRate, 3) : null },
    pass: {
      ingest: ingestRate === null ? null : ingestRate >= TARGET.ingestPerSec,
      daily: daily ? daily.non200 === 0 && daily.latencyMs.p95 < TARGET.dailyP95Ms : null,
      rss: rssMb && rssMb.samples > 0 ? rssMb.maxMb < TARGET.rssMb : null,
    },
    errors,
  };
  const file = writeResults(root, 'reporting', started, report);
  say(`wrote ${file} and bench/results/reporting-latest.json`);
  process.stdout.write(
    `${JSON.stringify({ ingest: out['ingest'], kafka: kafkaRate, daily: daily && { ...daily, sample: undefined }, rss: rssMb, ratios: report.ratios, pass: report.pass, errors }, null, 2)}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
