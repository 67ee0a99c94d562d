import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { EventPayload } from '@admit/contracts';
import type { HandlerMap } from '@admit/messaging';

/** Merchants as promotions knows them (city and time zone for campaigns), from `merchant.onboarded`. */
@Injectable()
export class MerchantsConsumer {
  handlers(): HandlerMap {
    return { 'merchant.onboarded': (p, { manager }) => this.merchantOnboarded(manager, p) };
  }

  async merchantOnboarded(m: EntityManager, p: EventPayload<'merchant.onboarded'>): Promise<void> {
    await m.query(
      `INSERT INTO merchants (id, name, country, city, timezone, settlement_currency, onboarded_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
      [p.merchantId, p.name, p.country, p.city, p.timezone, p.settlementCurrency, p.createdAt],
    );
  }
}
