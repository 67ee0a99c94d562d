import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from '@admit/messaging';
import { LOGGER } from '@admit/service-kit';
import type { TicketingSettings } from '../config';
import { OrdersService, TICKETING_SETTINGS } from './orders.service';

/**
 * Expires open orders whose hold has passed and releases their capacity. Restart-safe: the state
 * lives in the orders table; every sweep locks due rows with SKIP LOCKED, so several instances
 * share the work and none waits for another.
 */
@Injectable()
export class HoldExpiryWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly orders: OrdersService,
    @Inject(TICKETING_SETTINGS) private readonly settings: TicketingSettings,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.sweep().finally(() => {
        this.running = null;
        this.schedule();
      });
    }, this.settings.holdSweepMs);
    this.timer.unref();
  }

  async sweep(): Promise<void> {
    try {
      for (;;) {
        const n = await this.orders.expireDue(200);
        if (n > 0) this.logger.info({ expired: n }, 'holds expired');
        if (n < 200 || this.stopped) return;
      }
    } catch (err) {
      this.logger.warn({ err }, 'hold expiry sweep failed; retrying');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
