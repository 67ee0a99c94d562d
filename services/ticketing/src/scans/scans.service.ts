import { Inject, Injectable, Optional } from '@nestjs/common';
import { Histogram } from 'prom-client';
import { z } from 'zod';
import type { DataSource, EntityManager } from 'typeorm';
import { newId } from '@admit/contracts';
import {
  appendToOutbox,
  currentFlow,
  markOutboxWritten,
  newCorrelationId,
  outboxInsertSql,
  outboxRows,
  preparedQuery,
  runInFlow,
  type FlowContext,
} from '@admit/messaging';
import {
  AdmitError,
  GroupCommit,
  isUniqueViolation,
  PLATFORM,
  type Platform,
  type Principal,
} from '@admit/service-kit';
import type { TicketingSettings } from '../config';
import { TICKETING_SETTINGS } from '../orders/orders.service';
import { TicketSigner, type CodeCheck } from '../tickets/ticket-code';

export const scanSchema = z.strictObject({
  code: z.string().min(1).max(1024),
  gateId: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits and _.:- (1 to 64)'),
  direction: z.enum(['in', 'out']).default('in'),
  scannedAt: z.iso.datetime().optional(),
  nonce: z.string().min(1).max(128).optional(),
});
export type ScanInput = z.infer<typeof scanSchema>;

export const batchSchema = z.strictObject({
  scans: z
    .array(
      z.strictObject({
        code: z.string().min(1).max(1024),
        gateId: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits and _.:- (1 to 64)'),
        direction: z.enum(['in', 'out']).default('in'),
        scannedAt: z.iso.datetime(),
        nonce: z.string().min(1).max(128),
        /** What the offline gate decided (default admitted: the visitor went in). */
        offlineResult: z.enum(['admitted', 'rejected']).default('admitted'),
      }),
    )
    .min(1)
    .max(500),
});
export type BatchInput = z.infer<typeof batchSchema>;

export const offlineKitQuerySchema = z.strictObject({ attractionId: z.string().min(1).max(64) });

export type Gate = { keyId: string; attractionId: string; merchantId: string };

export type ScanResult = {
  result: 'admitted' | 'rejected';
  reason?: string;
  ticket?: { id: string; status: string; entriesLeft: number };
  previousScan?: { at: string; gateId: string };
  /** Offline uploads only: an offline gate admitted a ticket that had no entry left. */
  conflict?: boolean;
};

type TicketState = {
  id: string;
  order_id: string;
  merchant_id: string;
  attraction_id: string;
  status: string;
  entries_left: number;
  inside: boolean;
  valid_from: Date;
  valid_to: Date;
};

/** An online scan waiting for its group commit: checked (signature) in the request, written in a batch. */
export type ScanJob = {
  gate: Gate;
  input: ScanInput;
  scannedAt: Date;
  check: CodeCheck;
  /** The request's flow, so each scan's event carries its own correlation and causation ids. */
  flow: FlowContext | undefined;
};

@Injectable()
export class ScansService {
  /** Online scans that arrive while a batch is being committed go together into the next one. */
  private readonly group: GroupCommit<ScanJob, ScanResult>;

  constructor(
    @Inject('DATA_SOURCE') private readonly ds: DataSource,
    @Inject(TicketSigner) private readonly signer: TicketSigner,
    @Inject(TICKETING_SETTINGS) private readonly settings: TicketingSettings,
    @Optional() @Inject(PLATFORM) platform?: Platform,
  ) {
    const sizes = platform
      ? new Histogram({
          name: 'admit_ticketing_scan_batch_size',
          help: 'Online scans per group commit',
          buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000],
          registers: [platform.registry],
        })
      : null;
    this.group = new GroupCommit((jobs) => this.scanMany(jobs), {
      maxBatch: settings.scanBatchMax,
      maxInFlight: settings.scanBatchWriters,
      onBatch: sizes ? (n) => sizes.observe(n) : undefined,
    });
  }

  private gateOf(principal: Principal) {
    if (principal.scope !== 'gate' || !principal.attractionId || !principal.merchantId) {
      throw new AdmitError(403, 'FORBIDDEN', 'Scans need a gate key bound to an attraction.');
    }
    return { keyId: principal.keyId, attractionId: principal.attractionId, merchantId: principal.merchantId };
  }

  /** The offline kit: public keys, the attraction's voided tickets, and how long it may be used. */
  async offlineKit(principal: Principal, attractionId: string) {
    const gate = this.gateOf(principal);
    if (attractionId !== gate.attractionId)
      throw new AdmitError(403, 'WRONG_ATTRACTION', 'This gate key is bound to another attraction.');
    const revoked = (await this.ds.query(
      `SELECT id FROM tickets WHERE attraction_id = $1 AND status = 'void' AND valid_to > now() ORDER BY id`,
      [attractionId],
    )) as { id: string }[];
    const issuedAt = new Date();
    return {
      version: 1 as const,
      attractionId,
      gateKeyId: gate.keyId,
      issuedAt: issuedAt.toISOString(),
      validUntil: new Date(issuedAt.getTime() + this.settings.offlineKitHours * 3600_000).toISOString(),
      publicKeys: this.signer.exportPublicKeys(),
      revokedTicketIds: revoked.map((r) => r.id),
    };
  }

  /**
   * Offline scans uploaded later, applied in scan-time order, each idempotent per (gate key, nonce).
   * A scan the offline gate admitted although the ticket had no entry left is a double use: it is
   * recorded as a conflict (with the first use) and published as `scan.conflict`.
   */
  async batch(principal: Principal, input: BatchInput) {
    const gate = this.gateOf(principal);
    const ordered = input.scans
      .map((sc, index) => ({ sc, index }))
      .sort((a, b) => Date.parse(a.sc.scannedAt) - Date.parse(b.sc.scannedAt) || a.index - b.index);
    const results: (ScanResult & { nonce: string; index: number })[] = [];
    for (const { sc, index } of ordered) {
      const input1: ScanInput = {
        code: sc.code,
        gateId: sc.gateId,
        direction: sc.direction,
        scannedAt: sc.scannedAt,
        nonce: sc.nonce,
      };
      const r = await this.apply(gate, input1, new Date(sc.scannedAt), sc.offlineResult === 'admitted');
      results.push({ index, nonce: sc.nonce, ...r });
    }
    results.sort((a, b) => a.index - b.index);
    return {
      data: results.map(({ index: _i, ...r }) => r),
      conflicts: results.filter((r) => r.conflict).length,
    };
  }

  /**
   * One online scan, atomically: its ticket row is locked, checked and changed in the same
   * transaction that records the scan and its event, so concurrent gates cannot both admit a
   * single-use ticket. A retried scan with the same nonce returns the first answer. The scan is
   * committed with the others that arrived meanwhile (group commit, `scanMany`); the answer is
   * sent once that commit has returned.
   */
  async scan(principal: Principal, input: ScanInput): Promise<ScanResult> {
    const gate = this.gateOf(principal);
    const scannedAt = input.scannedAt ? new Date(input.scannedAt) : new Date();
    return this.group.submit({ gate, input, scannedAt, check: this.signer.check(input.code), flow: currentFlow() });
  }

  /**
   * A batch of online scans in one transaction, with the answers that handling them one after
   * the other in the batch's order would give (`scan-batch.int-spec.ts` compares the two):
   * the batch's tickets are locked in id order, every scan is decided in order on the tickets'
   * current state in memory, and the scans, their events and the tickets' final states are
   * written with one statement. A batch that fails as a whole (a retry with the same nonce
   * committed by another writer in between, a deadlock with a void) is applied one scan at a
   * time instead, so each scan gets its own answer or its own error.
   */
  async scanMany(jobs: ScanJob[]): Promise<PromiseSettledResult<ScanResult>[]> {
    try {
      const answers = await this.ds.transaction((m) => this.decideBatch(m, jobs));
      return answers.map((value) => ({ status: 'fulfilled', value }));
    } catch {
      const out: PromiseSettledResult<ScanResult>[] = [];
      for (const j of jobs) {
        try {
          out.push({ status: 'fulfilled', value: await this.scanOne(j) });
        } catch (err) {
          out.push({ status: 'rejected', reason: err });
        }
      }
      return out;
    }
  }

  /** One online scan on its own (compare-and-set, then the row lock), in the request's flow. */
  async scanOne(job: ScanJob): Promise<ScanResult> {
    const flow = job.flow ?? { correlationId: newCorrelationId(), causationId: null, requestId: null };
    return runInFlow(flow, () => this.apply(job.gate, job.input, job.scannedAt, false));
  }

  private async decideBatch(m: EntityManager, jobs: ScanJob[]): Promise<ScanResult[]> {
    const targets = jobs.map((j) => codeTarget(j.check, j.gate));
    const tids = [...new Set(targets.filter((t) => typeof t === 'string'))].sort();
    const state = new Map(
      (tids.length
        ? await preparedQuery<TicketState>(
            m,
            'ticketing_scan_lock_tickets',
            `SELECT id, order_id, merchant_id, attraction_id, status, entries_left, inside, valid_from, valid_to
               FROM tickets WHERE id = ANY($1) ORDER BY id FOR UPDATE`,
            [tids],
          )
        : []
      ).map((t) => [t.id, { ...t }]),
    );
    const withNonce = jobs.filter((j) => j.input.nonce);
    const answered = new Map<string, ScanResult>(); // gate key + nonce → the first answer
    const nonceKey = (keyId: string, nonce: string) => `${keyId}\u0000${nonce}`;
    if (withNonce.length) {
      const prior = await preparedQuery<{ gate_key_id: string; nonce: string; response: ScanResult }>(
        m,
        'ticketing_scan_nonces',
        `SELECT s.gate_key_id, s.nonce, s.response FROM scans s
           JOIN unnest($1::text[], $2::text[]) AS n(k, nonce) ON s.gate_key_id = n.k AND s.nonce = n.nonce`,
        [withNonce.map((j) => j.gate.keyId), withNonce.map((j) => j.input.nonce)],
      );
      for (const p of prior) answered.set(nonceKey(p.gate_key_id, p.nonce), p.response);
    }

    // Decide in order. A replayed nonce is answered as before and writes nothing.
    type Decided = { job: ScanJob; ticket: TicketState | null; response: ScanResult; write: boolean; prev: boolean };
    const decided: Decided[] = [];
    const changed = new Map<string, TicketState>();
    for (const [i, job] of jobs.entries()) {
      const key = job.input.nonce ? nonceKey(job.gate.keyId, job.input.nonce) : null;
      const replay = key ? answered.get(key) : undefined;
      if (replay) {
        decided.push({ job, ticket: null, response: replay, write: false, prev: false });
        continue;
      }
      const target = targets[i] as string | ScanResult;
      let ticket: TicketState | null = null;
      let response: ScanResult;
      let prev = false;
      if (typeof target !== 'string') response = target;
      else if (!(ticket = state.get(target) ?? null)) response = { result: 'rejected', reason: 'UNKNOWN_CODE' };
      else {
        const d = decideScan(ticket, job.input.direction, job.scannedAt);
        response = d.response;
        prev = d.needsPreviousScan;
        if (d.next) {
          ticket.entries_left = d.next.entriesLeft;
          ticket.status = d.next.status;
          ticket.inside = d.next.inside;
          changed.set(ticket.id, ticket);
        }
      }
      const row: Decided = { job, ticket, response, write: true, prev };
      decided.push(row);
      if (key) answered.set(key, response);
    }

    // ALREADY_USED answers name the last admission: the latest of the stored ones and those
    // admitted earlier in this batch.
    const needPrev = [...new Set(decided.filter((d) => d.prev).map((d) => d.ticket!.id))];
    if (needPrev.length) {
      const last = new Map<string, { at: Date; gateId: string }>();
      for (const r of await preparedQuery<{ ticket_id: string; scanned_at: Date; gate_id: string }>(
        m,
        'ticketing_scan_last_admissions',
        `SELECT DISTINCT ON (ticket_id) ticket_id, scanned_at, gate_id FROM scans
          WHERE ticket_id = ANY($1) AND result = 'admitted' AND direction = 'in'
          ORDER BY ticket_id, scanned_at DESC`,
        [needPrev],
      ))
        last.set(r.ticket_id, { at: new Date(r.scanned_at), gateId: r.gate_id });
      for (const d of decided) {
        if (!d.write || !d.ticket) continue;
        if (d.prev) {
          const p = last.get(d.ticket.id);
          if (p) {
            d.response = { ...d.response, previousScan: { at: p.at.toISOString(), gateId: p.gateId } };
            if (d.job.input.nonce) answered.set(nonceKey(d.job.gate.keyId, d.job.input.nonce), d.response);
          }
        } else if (d.response.result === 'admitted' && d.job.input.direction === 'in') {
          const p = last.get(d.ticket.id);
          if (!p || d.job.scannedAt >= p.at) last.set(d.ticket.id, { at: d.job.scannedAt, gateId: d.job.input.gateId });
        }
      }
      // a replay of a nonce first answered in this batch gets that (completed) answer
      for (const d of decided)
        if (!d.write && d.job.input.nonce) d.response = answered.get(nonceKey(d.job.gate.keyId, d.job.input.nonce))!;
    }

    const writes = decided.filter((d) => d.write); // every changed ticket has a scan written
    if (writes.length) {
      const scanIds = writes.map(() => newId('scan'));
      const rows = writes.map((d, i) =>
        scanRow(scanIds[i]!, d.ticket, d.job.gate, d.job.input, d.response, d.job.scannedAt, false),
      );
      const col = (k: number) => rows.map((r) => r[k]);
      const { columns: events } = outboxRows(
        writes.map((d, i) => ({
          ...recordedEvent(scanIds[i]!, d.ticket, d.job.gate, d.job.input, d.response, d.job.scannedAt),
          correlationId: d.job.flow?.correlationId ?? newCorrelationId(),
          causationId: d.job.flow?.causationId ?? null,
        })),
      );
      const tickets = [...changed.values()];
      await preparedQuery(
        m,
        'ticketing_scan_batch_write',
        `WITH u AS (
           UPDATE tickets t SET entries_left = v.entries_left, status = v.status, inside = v.inside
             FROM unnest($1::text[], $2::int[], $3::text[], $4::bool[]) AS v(id, entries_left, status, inside)
            WHERE t.id = v.id
         ), s AS (
           INSERT INTO scans (id, ticket_id, attraction_id, gate_key_id, gate_id, direction, result, reason, nonce, response,
                              scanned_at, offline)
           SELECT * FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                                $12::text[], $13::text[], $14::jsonb[], $15::timestamptz[], $16::bool[])
         ), e AS (
           ${outboxInsertSql(17)}
         )
         SELECT 1`,
        [
          tickets.map((t) => t.id),
          tickets.map((t) => t.entries_left),
          tickets.map((t) => t.status),
          tickets.map((t) => t.inside),
          ...Array.from({ length: 12 }, (_, k) => col(k)),
          ...events,
        ],
      );
      await markOutboxWritten(m);
    }
    return decided.map((d) => d.response);
  }

  private async apply(gate: Gate, input: ScanInput, scannedAt: Date, offlineAdmitted: boolean): Promise<ScanResult> {
    if (input.nonce) {
      const prior = await this.byNonce(gate.keyId, input.nonce);
      if (prior) return prior;
    }
    try {
      if (!offlineAdmitted) {
        // Online scans: read, decide, and write with a compare-and-set (one statement), retried
        // when another gate changed the ticket in between; the locking transaction is the
        // fallback after a few lost races.
        for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt += 1) {
          const done = await this.scanOnce(gate, input, scannedAt);
          if (done) return done;
        }
      }
      return await this.ds.transaction(async (m) => this.scanIn(m, gate, input, scannedAt, offlineAdmitted));
    } catch (err) {
      if (input.nonce && isUniqueViolation(err, 'scans_nonce_uq')) {
        const prior = await this.byNonce(gate.keyId, input.nonce);
        if (prior) return prior;
      }
      throw err;
    }
  }

  private async byNonce(keyId: string, nonce: string): Promise<ScanResult | null> {
    const rows = (await this.ds.query('SELECT response FROM scans WHERE gate_key_id = $1 AND nonce = $2', [
      keyId,
      nonce,
    ])) as { response: ScanResult }[];
    return rows[0]?.response ?? null;
  }

  private async scanIn(
    m: EntityManager,
    gate: Gate,
    input: ScanInput,
    scannedAt: Date,
    offlineAdmitted = false,
  ): Promise<ScanResult> {
    const target = codeTarget(this.signer.check(input.code), gate);
    let ticket: TicketState | undefined;
    let response: ScanResult;
    if (typeof target !== 'string') {
      response = target;
    } else {
      ticket = ((await m.query('SELECT * FROM tickets WHERE id = $1 FOR UPDATE', [target])) as TicketState[])[0];
      if (ticket) {
        const d = decideScan(ticket, input.direction, scannedAt);
        response = d.needsPreviousScan ? await this.withPreviousScan(m, ticket.id, d.response) : d.response;
        if (d.next)
          await m.query('UPDATE tickets SET entries_left = $2, status = $3, inside = $4 WHERE id = $1', [
            ticket.id,
            d.next.entriesLeft,
            d.next.status,
            d.next.inside,
          ]);
      } else response = { result: 'rejected', reason: 'UNKNOWN_CODE' };
    }
    const scanId = newId('scan');
    if (offlineAdmitted && ticket && response.reason === 'ALREADY_USED' && input.direction === 'in') {
      response = { ...response, conflict: true };
      await m.query(
        `INSERT INTO scan_conflicts (id, ticket_id, attraction_id, scan_id, gate_id, scanned_at, first_gate_id, first_scanned_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          newId('scan'),
          ticket.id,
          gate.attractionId,
          scanId,
          input.gateId,
          scannedAt,
          response.previousScan?.gateId ?? null,
          response.previousScan?.at ?? null,
        ],
      );
      await appendToOutbox(m, {
        type: 'scan.conflict',
        aggregateId: ticket.id,
        merchantId: gate.merchantId,
        payload: {
          ticketId: ticket.id,
          orderId: ticket.order_id,
          merchantId: gate.merchantId,
          attractionId: gate.attractionId,
          scanId,
          gateId: input.gateId,
          scannedAt: scannedAt.toISOString(),
          previousScan: response.previousScan ?? null,
          detectedAt: new Date().toISOString(),
        },
      });
    }
    await m.query(
      `INSERT INTO scans (id, ticket_id, attraction_id, gate_key_id, gate_id, direction, result, reason, nonce, response, scanned_at, offline)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12)`,
      scanRow(scanId, ticket ?? null, gate, input, response, scannedAt, offlineAdmitted),
    );
    await appendToOutbox(m, recordedEvent(scanId, ticket ?? null, gate, input, response, scannedAt));
    return response;
  }

  /**
   * One online scan without holding a lock across round trips: the ticket is read, the decision
   * made, and the scan, its event and the ticket's new state written in one statement that
   * changes the ticket only if it is still in the state the decision was made on (entries left,
   * status, inside). Returns null when another scan or a void changed the ticket in between (the
   * caller decides again); a decision that changes nothing (a rejection) is written as it is.
   */
  private async scanOnce(gate: Gate, input: ScanInput, scannedAt: Date): Promise<ScanResult | null> {
    const target = codeTarget(this.signer.check(input.code), gate);
    const qr = this.ds.createQueryRunner();
    await qr.connect();
    try {
      let ticket: TicketState | null = null;
      let response: ScanResult;
      let next: NextTicketState | null = null;
      if (typeof target !== 'string') response = target;
      else {
        [ticket = null] = await preparedQuery<TicketState>(
          qr,
          'ticketing_scan_ticket',
          `SELECT id, order_id, merchant_id, attraction_id, status, entries_left, inside, valid_from, valid_to
             FROM tickets WHERE id = $1`,
          [target],
        );
        if (ticket) {
          const d = decideScan(ticket, input.direction, scannedAt);
          response = d.needsPreviousScan ? await this.withPreviousScan(qr.manager, ticket.id, d.response) : d.response;
          next = d.next;
        } else response = { result: 'rejected', reason: 'UNKNOWN_CODE' };
      }
      const scanId = newId('scan');
      const { columns: event } = outboxRows([recordedEvent(scanId, ticket, gate, input, response, scannedAt)]);
      const [row] = await preparedQuery<{ applied: boolean }>(
        qr,
        'ticketing_scan_cas',
        `WITH u AS (
           UPDATE tickets SET entries_left = $14, status = $15, inside = $16
            WHERE $13 AND id = $2 AND entries_left = $17 AND status = $18 AND inside = $19
           RETURNING id
         ), ok AS (
           SELECT NOT $13 OR EXISTS (SELECT 1 FROM u) AS applied
         ), s AS (
           INSERT INTO scans (id, ticket_id, attraction_id, gate_key_id, gate_id, direction, result, reason, nonce, response,
                              scanned_at, offline)
           SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12 FROM ok WHERE ok.applied
         ), e AS (
           ${outboxInsertSql(20, '(SELECT applied FROM ok)')}
         )
         SELECT applied FROM ok`,
        [
          ...scanRow(scanId, ticket, gate, input, response, scannedAt, false),
          next !== null,
          next?.entriesLeft ?? 0,
          next?.status ?? '',
          next?.inside ?? false,
          ticket?.entries_left ?? 0,
          ticket?.status ?? '',
          ticket?.inside ?? false,
          ...event,
        ],
      );
      if (!row?.applied) return null;
      await markOutboxWritten(this.ds.manager);
      return response;
    } finally {
      await qr.release();
    }
  }

  /** ALREADY_USED answers name the last admission (gate and time). */
  private async withPreviousScan(m: EntityManager, ticketId: string, response: ScanResult): Promise<ScanResult> {
    const prev = (await m.query(
      `SELECT scanned_at, gate_id FROM scans WHERE ticket_id = $1 AND result = 'admitted' AND direction = 'in' ORDER BY scanned_at DESC LIMIT 1`,
      [ticketId],
    )) as { scanned_at: Date; gate_id: string }[];
    return prev[0]
      ? { ...response, previousScan: { at: new Date(prev[0].scanned_at).toISOString(), gateId: prev[0].gate_id } }
      : response;
  }
}

/** A code's ticket id, or its rejection before any ticket is read (bad code, another attraction). */
function codeTarget(check: CodeCheck, gate: Gate): string | ScanResult {
  if (!check.ok) return { result: 'rejected', reason: check.reason };
  if (check.claims.att !== gate.attractionId) return { result: 'rejected', reason: 'WRONG_ATTRACTION' };
  return check.claims.tid;
}

/** Lost compare-and-set races before an online scan takes the ticket's row lock instead. */
const CAS_ATTEMPTS = 3;

type NextTicketState = { entriesLeft: number; status: string; inside: boolean };

/**
 * What a scan of ticket `t` answers, and the ticket's state after it (null: unchanged). An
 * ALREADY_USED answer also names the last admission, which the caller looks up.
 */
export function decideScan(
  t: Pick<TicketState, 'id' | 'status' | 'entries_left' | 'inside' | 'valid_from' | 'valid_to'>,
  direction: 'in' | 'out',
  at: Date,
): { response: ScanResult; next: NextTicketState | null; needsPreviousScan: boolean } {
  const view = (status: string, entriesLeft: number) => ({ id: t.id, status, entriesLeft });
  const reject = (reason: string, needsPreviousScan = false) => ({
    response: { result: 'rejected' as const, reason, ticket: view(t.status, t.entries_left) },
    next: null,
    needsPreviousScan,
  });
  if (t.status === 'void') return reject('VOID');
  if (direction === 'out') {
    if (!t.inside) return reject('NOT_INSIDE');
    return {
      response: { result: 'admitted', ticket: view(t.status, t.entries_left) },
      next: { entriesLeft: t.entries_left, status: t.status, inside: false },
      needsPreviousScan: false,
    };
  }
  if (at < new Date(t.valid_from)) return reject('NOT_YET_VALID');
  if (at >= new Date(t.valid_to)) return reject('EXPIRED');
  if (t.entries_left <= 0 || t.status === 'used') return reject('ALREADY_USED', true);
  const left = t.entries_left - 1;
  const status = left === 0 ? 'used' : 'valid';
  return {
    response: { result: 'admitted', ticket: view(status, left) },
    next: { entriesLeft: left, status, inside: true },
    needsPreviousScan: false,
  };
}

/** The `scans` row's values ($1 … $12). */
function scanRow(
  scanId: string,
  ticket: Pick<TicketState, 'id'> | null,
  gate: Gate,
  input: ScanInput,
  response: ScanResult,
  scannedAt: Date,
  offline: boolean,
): unknown[] {
  return [
    scanId,
    ticket?.id ?? null,
    gate.attractionId,
    gate.keyId,
    input.gateId,
    input.direction,
    response.result,
    response.reason ?? null,
    input.nonce ?? null,
    JSON.stringify(response),
    scannedAt,
    offline,
  ];
}

function recordedEvent(
  scanId: string,
  ticket: Pick<TicketState, 'id' | 'order_id'> | null,
  gate: Gate,
  input: ScanInput,
  response: ScanResult,
  scannedAt: Date,
) {
  return {
    type: 'scan.recorded' as const,
    aggregateId: ticket?.id ?? scanId,
    merchantId: gate.merchantId,
    payload: {
      scanId,
      ticketId: ticket?.id ?? null,
      orderId: ticket?.order_id ?? null,
      merchantId: gate.merchantId,
      attractionId: gate.attractionId,
      gateId: input.gateId,
      direction: input.direction,
      result: response.result,
      reason: response.reason ?? null,
      scannedAt: scannedAt.toISOString(),
    },
  };
}
