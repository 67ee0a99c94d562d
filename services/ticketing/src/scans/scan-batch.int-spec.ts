import type { DataSource } from 'typeorm';
import type { Principal } from '@admit/service-kit';
import { newTicketSigningKey, scratchDatabase, type ScratchDb } from '@admit/testing';
import type { TicketingSettings } from '../config';
import { TICKETING_MIGRATIONS } from '../database/migrations';
import { TicketSigner } from '../tickets/ticket-code';
import { ScansService, type Gate, type ScanInput, type ScanJob, type ScanResult } from './scans.service';

/**
 * Online scans committed as a group (`scanMany`, one transaction and one write statement for a
 * batch) against the same scans applied one at a time (`scanOne`, the path a failed batch is redone
 * with), on two real PostgreSQL databases built by the service's migrations with the same fixtures.
 * The batch mixes every case: a multi-entry ticket counted down to ALREADY_USED, in and out, a
 * single-use ticket scanned twice, a ticket already used before (its admission stored), void,
 * not yet valid, expired, another attraction's ticket, a forged code, a validly signed code of no
 * ticket, a nonce answered before the batch and a nonce repeated inside it.
 */
jest.setTimeout(60000);

const MERCHANT = 'mch_scan';
const signer = new TicketSigner(newTicketSigningKey(), 'k1');
const settings = { offlineKitHours: 24, scanBatchMax: 4, scanBatchWriters: 2 } as TicketingSettings;
const GATE: Gate = { keyId: 'key_gate', attractionId: 'att_1', merchantId: MERCHANT };
const FROM = new Date('2026-12-01T00:00:00Z');
const TO = new Date('2026-12-02T00:00:00Z');

type TicketFixture = { id: string; status: string; max: number; left: number; from?: Date; to?: Date; att?: string };
const TICKETS: TicketFixture[] = [
  { id: 'tkt_multi', status: 'valid', max: 3, left: 3 },
  { id: 'tkt_single', status: 'valid', max: 1, left: 1 },
  { id: 'tkt_used', status: 'used', max: 1, left: 0 },
  { id: 'tkt_void', status: 'void', max: 1, left: 1 },
  { id: 'tkt_future', status: 'valid', max: 1, left: 1, from: new Date('2026-12-01T20:00:00Z') },
  { id: 'tkt_expired', status: 'valid', max: 1, left: 1, to: new Date('2026-12-01T01:00:00Z') },
  { id: 'tkt_other', status: 'valid', max: 1, left: 1, att: 'att_2' },
];

const code = (tid: string, att = 'att_1') =>
  signer.issue({ tid, att, nbf: FROM.getTime() / 1000, exp: TO.getTime() / 1000, ent: 1 });

async function fixtures(ds: DataSource): Promise<void> {
  await ds.query(
    `INSERT INTO attractions (id, merchant_id, name, city, timezone) VALUES
       ('att_1', $1, 'Zoo', 'Hangzhou', 'Asia/Shanghai'), ('att_2', $1, 'Museum', 'Hangzhou', 'Asia/Shanghai')`,
    [MERCHANT],
  );
  await ds.query(
    `INSERT INTO orders (id, merchant_id, attraction_id, channel, status, total_value, amount_due_value, currency, capacity, customer_reference)
     VALUES ('ord_1', $1, 'att_1', 'counter', 'fulfilled', 1000, 1000, 'CNY', 'none', 'ref-1')`,
    [MERCHANT],
  );
  for (const t of TICKETS)
    await ds.query(
      `INSERT INTO tickets (id, order_id, merchant_id, attraction_id, product_id, code, status, max_entries, entries_left, valid_from, valid_to)
       VALUES ($1, 'ord_1', $2, $3, 'prd_1', $4, $5, $6, $7, $8, $9)`,
      [t.id, MERCHANT, t.att ?? 'att_1', code(t.id, t.att), t.status, t.max, t.left, t.from ?? FROM, t.to ?? TO],
    );
  // tkt_used was admitted at gate G0 before; nonce n-old was answered before the batch
  await ds.query(
    `INSERT INTO scans (id, ticket_id, attraction_id, gate_key_id, gate_id, direction, result, reason, nonce, response, scanned_at, offline)
     VALUES ('scan_old', 'tkt_used', 'att_1', $1, 'G0', 'in', 'admitted', NULL, 'n-old', $2, '2026-12-01T08:00:00Z', false)`,
    [GATE.keyId, JSON.stringify({ result: 'admitted', ticket: { id: 'tkt_used', status: 'used', entriesLeft: 0 } })],
  );
}

const forged = (() => {
  const [body, sig] = code('tkt_single').split('.');
  return `${body}.${(sig ?? '').startsWith('A') ? 'B' : 'A'}${(sig ?? '').slice(1)}`;
})();

type Step = [code: string, gateId: string, direction: 'in' | 'out', nonce?: string];
const STEPS: Step[] = [
  [code('tkt_multi'), 'G1', 'in', 'n1'],
  [code('tkt_single'), 'G2', 'in', 'n2'],
  [code('tkt_multi'), 'G1', 'out', 'n3'],
  [code('tkt_single'), 'G3', 'in', 'n4'], // ALREADY_USED, previous scan G2 from this batch
  [code('tkt_used'), 'G1', 'in', 'n5'], // ALREADY_USED, previous scan G0 from the database
  [code('tkt_multi'), 'G2', 'in'],
  [code('tkt_void'), 'G1', 'in', 'n6'],
  [code('tkt_future'), 'G1', 'in'],
  [code('tkt_expired'), 'G1', 'in'],
  [code('tkt_other', 'att_2'), 'G1', 'in', 'n7'],
  [forged, 'G1', 'in'],
  [code('tkt_nowhere'), 'G1', 'in'],
  [code('tkt_multi'), 'G3', 'in', 'n8'],
  [code('tkt_single'), 'G9', 'in', 'n-old'], // answered before the batch: the stored answer
  [code('tkt_multi'), 'G1', 'in', 'n9'], // ALREADY_USED (three entries used)
  [code('tkt_single'), 'G3', 'in', 'n4'], // a retry inside the batch: the first answer
  [code('tkt_multi'), 'G3', 'out'],
  [code('tkt_multi'), 'G3', 'out'], // NOT_INSIDE
];

const jobs = (): ScanJob[] =>
  STEPS.map(([c, gateId, direction, nonce], i) => {
    const scannedAt = new Date(Date.UTC(2026, 11, 1, 9, 0, i));
    const input: ScanInput = { code: c, gateId, direction, scannedAt: scannedAt.toISOString(), nonce };
    return {
      gate: GATE,
      input,
      scannedAt,
      check: signer.check(c),
      flow: { correlationId: `corr-${i}`, causationId: null, requestId: `req-${i}` },
    };
  });

/** Everything the scans write, without the random scan ids. */
async function state(ds: DataSource) {
  const tickets = await ds.query(`SELECT id, status, entries_left, inside FROM tickets ORDER BY id`);
  const scans = await ds.query(
    `SELECT ticket_id, gate_id, direction, result, reason, nonce, response, scanned_at, offline FROM scans ORDER BY scanned_at, gate_id`,
  );
  const events = (
    (await ds.query(`SELECT message_key, value FROM outbox ORDER BY id`)) as { message_key: string; value: string }[]
  ).map((r) => {
    const e = JSON.parse(r.value) as {
      type: string;
      correlationId: string;
      causationId: string | null;
      payload: { scanId: string };
    };
    const { scanId, ...payload } = e.payload;
    void scanId;
    return {
      key: r.message_key.startsWith('scn_') ? 'scan' : r.message_key,
      type: e.type,
      correlationId: e.correlationId,
      causationId: e.causationId,
      payload,
    };
  });
  return { tickets, scans, events };
}

let one: ScratchDb;
let many: ScratchDb;
let race: ScratchDb;

beforeAll(async () => {
  const made = () => scratchDatabase('admit_scan_it', TICKETING_MIGRATIONS);
  [one, many, race] = await Promise.all([made(), made(), made()]);
  for (const w of [one, many, race]) await fixtures(w.ds);
});

afterAll(async () => {
  for (const w of [one, many, race]) await w?.drop();
});

it('a batch answers and writes exactly what the same scans one at a time do', async () => {
  const single = new ScansService(one.ds, signer, settings);
  const sequential: ScanResult[] = [];
  for (const j of jobs()) sequential.push(await single.scanOne(j));

  const settled = await new ScansService(many.ds, signer, settings).scanMany(jobs());
  const batched = settled.map((r) => (r.status === 'fulfilled' ? r.value : r.reason));
  expect(batched).toEqual(sequential);
  expect(await state(many.ds)).toEqual(await state(one.ds));

  // and what they answer is right
  const reasons = sequential.map((r) => r.reason ?? r.result);
  expect(reasons).toEqual([
    'admitted',
    'admitted',
    'admitted',
    'ALREADY_USED',
    'ALREADY_USED',
    'admitted',
    'VOID',
    'NOT_YET_VALID',
    'EXPIRED',
    'WRONG_ATTRACTION',
    'FORGED',
    'UNKNOWN_CODE',
    'admitted',
    'admitted', // n-old's stored answer
    'ALREADY_USED',
    'ALREADY_USED', // n4 again
    'admitted',
    'NOT_INSIDE',
  ]);
  expect(sequential[3]?.previousScan).toEqual({ at: '2026-12-01T09:00:01.000Z', gateId: 'G2' });
  expect(sequential[4]?.previousScan).toEqual({ at: '2026-12-01T08:00:00.000Z', gateId: 'G0' });
  expect(sequential[14]?.previousScan).toEqual({ at: '2026-12-01T09:00:12.000Z', gateId: 'G3' });
  expect(sequential[15]).toEqual(sequential[3]);
  const s = await state(many.ds);
  expect(s.tickets).toContainEqual({ id: 'tkt_multi', status: 'used', entries_left: 0, inside: false });
  expect(s.tickets).toContainEqual({ id: 'tkt_single', status: 'used', entries_left: 0, inside: true });
  // one scan row and one scan.recorded event per answered scan; replays write nothing
  expect(s.scans).toHaveLength(STEPS.length - 2 + 1); // + the stored scan_old
  expect(s.events).toHaveLength(STEPS.length - 2);
  expect(s.events[0]).toMatchObject({ correlationId: 'corr-0', type: 'scan.recorded', payload: { gateId: 'G1' } });
});

describe('group commit under concurrency (two writers, batches of four)', () => {
  const principal: Principal = { keyId: GATE.keyId, scope: 'gate', merchantId: MERCHANT, attractionId: 'att_1' };

  it('twenty gates scan one single-use ticket at once: exactly one is admitted', async () => {
    const svc = new ScansService(race.ds, signer, settings);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        svc.scan(principal, {
          code: code('tkt_single'),
          gateId: `R${i}`,
          direction: 'in',
          scannedAt: '2026-12-01T10:00:00Z',
        }),
      ),
    );
    expect(answers.filter((a) => a.result === 'admitted')).toHaveLength(1);
    expect(answers.filter((a) => a.reason === 'ALREADY_USED')).toHaveLength(19);
    const [row] = (await race.ds.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE result = 'admitted')::int AS admitted FROM scans WHERE ticket_id = 'tkt_single'`,
    )) as { n: number; admitted: number }[];
    expect(row).toEqual({ n: 20, admitted: 1 });
  });

  it('one nonce sent twice at once lands in two batches: one scan, the same answer twice', async () => {
    const svc = new ScansService(race.ds, signer, { ...settings, scanBatchMax: 1 });
    const input: ScanInput = {
      code: code('tkt_multi'),
      gateId: 'R1',
      direction: 'in',
      nonce: 'dup-1',
      scannedAt: '2026-12-01T10:00:00Z',
    };
    const [a, b] = await Promise.all([svc.scan(principal, input), svc.scan(principal, input)]);
    expect(a).toMatchObject({ result: 'admitted', ticket: { entriesLeft: 2 } });
    expect(b).toEqual(a);
    const [row] = (await race.ds.query(`SELECT count(*)::int AS n FROM scans WHERE nonce = 'dup-1'`)) as {
      n: number;
    }[];
    expect(row?.n).toBe(1);
  });
});
