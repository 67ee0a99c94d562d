import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import type { DataSource, EntityManager } from 'typeorm';
import { newId } from '@admit/contracts';
import { appendToOutbox } from '@admit/messaging';
import { AdmitError, isUniqueViolation, type Principal } from '@admit/service-kit';
import { TicketSigner } from '../tickets/ticket-code';

export const scanSchema = z.strictObject({
  code: z.string().min(1).max(1024),
  gateId: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits and _.:- (1 to 64)'),
  direction: z.enum(['in', 'out']).default('in'),
  scannedAt: z.iso.datetime().optional(),
  nonce: z.string().min(1).max(128).optional(),
});
export type ScanInput = z.infer<typeof scanSchema>;

export type ScanResult = {
  result: 'admitted' | 'rejected';
  reason?: string;
  ticket?: { id: string; status: string; entriesLeft: number };
  previousScan?: { at: string; gateId: string };
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

@Injectable()
export class ScansService {
  constructor(
    @Inject('DATA_SOURCE') private readonly ds: DataSource,
    @Inject(TicketSigner) private readonly signer: TicketSigner,
  ) {}

  /**
   * One scan, atomically: the ticket row is locked, checked and decremented in the same
   * transaction that records the scan and its event, so concurrent gates cannot both admit a
   * single-use ticket. A retried scan with the same nonce returns the first answer.
   */
  async scan(principal: Principal, input: ScanInput): Promise<ScanResult> {
    if (principal.scope !== 'gate' || !principal.attractionId || !principal.merchantId) {
      throw new AdmitError(403, 'FORBIDDEN', 'Scans need a gate key bound to an attraction.');
    }
    const gate = { keyId: principal.keyId, attractionId: principal.attractionId, merchantId: principal.merchantId };
    if (input.nonce) {
      const prior = await this.byNonce(gate.keyId, input.nonce);
      if (prior) return prior;
    }
    const scannedAt = input.scannedAt ? new Date(input.scannedAt) : new Date();
    try {
      return await this.ds.transaction(async (m) => this.scanIn(m, gate, input, scannedAt));
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
    gate: { keyId: string; attractionId: string; merchantId: string },
    input: ScanInput,
    scannedAt: Date,
  ): Promise<ScanResult> {
    const check = this.signer.check(input.code);
    let ticket: TicketState | undefined;
    let response: ScanResult;
    if (!check.ok) {
      response = { result: 'rejected', reason: check.reason };
    } else if (check.claims.att !== gate.attractionId) {
      response = { result: 'rejected', reason: 'WRONG_ATTRACTION' };
    } else {
      ticket = (
        (await m.query('SELECT * FROM tickets WHERE id = $1 FOR UPDATE', [check.claims.tid])) as TicketState[]
      )[0];
      response = ticket
        ? await this.decide(m, ticket, input.direction, scannedAt)
        : { result: 'rejected', reason: 'UNKNOWN_CODE' };
    }
    const scanId = newId('scan');
    await m.query(
      `INSERT INTO scans (id, ticket_id, attraction_id, gate_key_id, gate_id, direction, result, reason, nonce, response, scanned_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)`,
      [
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
      ],
    );
    await appendToOutbox(m, {
      type: 'scan.recorded',
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
    });
    return response;
  }

  private async decide(m: EntityManager, t: TicketState, direction: 'in' | 'out', at: Date): Promise<ScanResult> {
    const view = (status: string, entriesLeft: number) => ({ id: t.id, status, entriesLeft });
    if (t.status === 'void') return { result: 'rejected', reason: 'VOID', ticket: view(t.status, t.entries_left) };
    if (direction === 'out') {
      if (!t.inside) return { result: 'rejected', reason: 'NOT_INSIDE', ticket: view(t.status, t.entries_left) };
      await m.query('UPDATE tickets SET inside = false WHERE id = $1', [t.id]);
      return { result: 'admitted', ticket: view(t.status, t.entries_left) };
    }
    if (at < new Date(t.valid_from))
      return { result: 'rejected', reason: 'NOT_YET_VALID', ticket: view(t.status, t.entries_left) };
    if (at >= new Date(t.valid_to))
      return { result: 'rejected', reason: 'EXPIRED', ticket: view(t.status, t.entries_left) };
    if (t.entries_left <= 0 || t.status === 'used') {
      const prev = (await m.query(
        `SELECT scanned_at, gate_id FROM scans WHERE ticket_id = $1 AND result = 'admitted' AND direction = 'in' ORDER BY scanned_at DESC LIMIT 1`,
        [t.id],
      )) as { scanned_at: Date; gate_id: string }[];
      return {
        result: 'rejected',
        reason: 'ALREADY_USED',
        ticket: view(t.status, t.entries_left),
        ...(prev[0]
          ? { previousScan: { at: new Date(prev[0].scanned_at).toISOString(), gateId: prev[0].gate_id } }
          : {}),
      };
    }
    const left = t.entries_left - 1;
    const status = left === 0 ? 'used' : 'valid';
    await m.query('UPDATE tickets SET entries_left = $2, status = $3, inside = true WHERE id = $1', [
      t.id,
      left,
      status,
    ]);
    return { result: 'admitted', ticket: view(status, left) };
  }
}
