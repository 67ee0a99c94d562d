import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { EventPayload } from '@admit/contracts';
import type { HandlerMap, Logger } from '@admit/messaging';
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
    const inserted = (await m.query(
      `INSERT INTO scans (scan_id, ticket_id, order_id, merchant_id, attraction_id, gate_id, direction, result, reason, scanned_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (scan_id) DO NOTHING
       RETURNING scan_id`,
      [
        p.scanId,
        p.ticketId,
        p.orderId,
        p.merchantId,
        p.attractionId,
        p.gateId,
        p.direction,
        p.result,
        p.reason,
        p.scannedAt,
      ],
    )) as unknown[];
    if (inserted.length === 0 || p.result !== 'admitted') return;
    const entering = p.direction === 'in';
    await m.query(
      `INSERT INTO attraction_occupancy (attraction_id, merchant_id, inside, admissions, exits, last_scan_at)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (attraction_id) DO UPDATE SET
         inside = GREATEST(attraction_occupancy.inside + (CASE WHEN $7 THEN 1 ELSE -1 END), 0),
         admissions = attraction_occupancy.admissions + EXCLUDED.admissions,
         exits = attraction_occupancy.exits + EXCLUDED.exits,
         last_scan_at = GREATEST(attraction_occupancy.last_scan_at, EXCLUDED.last_scan_at),
         updated_at = now()`,
      [p.attractionId, p.merchantId, entering ? 1 : 0, entering ? 1 : 0, entering ? 0 : 1, p.scannedAt, entering],
    );
  }
}
