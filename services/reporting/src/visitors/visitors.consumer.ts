import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { EventPayload } from '@admit/contracts';
import type { BatchHandlerMap, HandlerMap, Logger } from '@admit/messaging';
import { LOGGER } from '@admit/service-kit';
import { isValidTimeZone } from '../time/zoned-time';

/**
 * The visitor side of reporting: attractions (their time zone decides the visitor-flow day) and
 * gate scans, with a live occupancy counter per attraction. A scan row is inserted under its
 * scan id first; the counter moves only when that insert happened.
 */
@Injectable()
export class VisitorsConsumer {
  constructor(@Inject(LOGGER) private readonly logger: Pick<Logger, 'warn'>) {}

  handlers(): HandlerMap {
    return {
      'attraction.created': (p, { manager }) => this.attractionCreated(manager, p),
      'scan.recorded': (p, { manager }) => this.scanRecorded(manager, p),
    };
  }

  /** Scans arrive in the thousands per minute at a busy gate: a chunk of them in four statements. */
  batchHandlers(): BatchHandlerMap {
    return {
      'scan.recorded': (events, { manager }) =>
        this.scansRecorded(
          manager,
          events.map((e) => e.payload),
        ),
    };
  }

  async attractionCreated(m: EntityManager, p: EventPayload<'attraction.created'>): Promise<void> {
    let timezone = p.timezone;
    if (!isValidTimeZone(timezone)) {
      this.logger.warn({ attractionId: p.attractionId, timezone }, 'unknown time zone; visitor flow falls back to UTC');
      timezone = 'UTC';
    }
    await m.query(
      `INSERT INTO attractions (id, merchant_id, name, city, timezone, created_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (id) DO NOTHING`,
      [p.attractionId, p.merchantId, p.name, p.city, timezone, p.createdAt],
    );
  }

  async scanRecorded(m: EntityManager, p: EventPayload<'scan.recorded'>): Promise<void> {
    await this.scansRecorded(m, [p]);
  }

  /**
   * Scans in order (one for the single handler, a run of them for the batch handler): the scan
   * rows in one insert; then, for the admitted ones that were new, the occupancy rows are created if need be,
   * locked in id order and moved scan by scan (`inside` never goes below zero, so an exit before
   * its entry counts as at the time, exactly as one scan after the other would).
   */
  async scansRecorded(m: EntityManager, list: EventPayload<'scan.recorded'>[]): Promise<void> {
    const inserted = (await m.query(
      `INSERT INTO scans (scan_id, ticket_id, order_id, merchant_id, attraction_id, gate_id, direction, result, reason, scanned_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                            $9::text[], $10::timestamptz[])
       ON CONFLICT (scan_id) DO NOTHING
       RETURNING scan_id`,
      [
        list.map((p) => p.scanId),
        list.map((p) => p.ticketId),
        list.map((p) => p.orderId),
        list.map((p) => p.merchantId),
        list.map((p) => p.attractionId),
        list.map((p) => p.gateId),
        list.map((p) => p.direction),
        list.map((p) => p.result),
        list.map((p) => p.reason),
        list.map((p) => p.scannedAt),
      ],
    )) as { scan_id: string }[];
    const fresh = new Set(inserted.map((r) => r.scan_id));
    const moves = list.filter((p) => fresh.delete(p.scanId) && p.result === 'admitted');
    if (moves.length === 0) return;
    const owners = new Map<string, string>();
    for (const p of moves) if (!owners.has(p.attractionId)) owners.set(p.attractionId, p.merchantId);
    const ids = [...owners.keys()].sort();
    await m.query(
      `INSERT INTO attraction_occupancy (attraction_id, merchant_id)
       SELECT * FROM unnest($1::text[], $2::text[]) ORDER BY 1 ON CONFLICT (attraction_id) DO NOTHING`,
      [ids, ids.map((id) => owners.get(id))],
    );
    const current = (await m.query(
      `SELECT attraction_id, inside FROM attraction_occupancy WHERE attraction_id = ANY($1::text[]) ORDER BY attraction_id FOR UPDATE`,
      [ids],
    )) as { attraction_id: string; inside: number }[];
    const state = new Map(
      current.map((r) => [r.attraction_id, { inside: r.inside, admissions: 0, exits: 0, last: null as string | null }]),
    );
    for (const p of moves) {
      const s = state.get(p.attractionId);
      if (!s) continue;
      const entering = p.direction === 'in';
      s.inside = Math.max(s.inside + (entering ? 1 : -1), 0);
      if (entering) s.admissions += 1;
      else s.exits += 1;
      if (s.last === null || Date.parse(p.scannedAt) > Date.parse(s.last)) s.last = p.scannedAt;
    }
    const rows = [...state.entries()];
    await m.query(
      `UPDATE attraction_occupancy o SET inside = u.inside, admissions = o.admissions + u.admissions, exits = o.exits + u.exits,
              last_scan_at = GREATEST(o.last_scan_at, u.last), updated_at = now()
         FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[], $5::timestamptz[]) AS u(id, inside, admissions, exits, last)
        WHERE o.attraction_id = u.id`,
      [
        rows.map(([id]) => id),
        rows.map(([, s]) => s.inside),
        rows.map(([, s]) => s.admissions),
        rows.map(([, s]) => s.exits),
        rows.map(([, s]) => s.last),
      ],
    );
  }
}
