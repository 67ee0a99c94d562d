import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { Logger } from '@admit/messaging';
import { AdmitError, LOGGER } from '@admit/service-kit';
import type { PaymentMetrics } from '../metrics';
import { PaymentStore } from '../payments/payment-store';
import { RefundsService } from '../refunds/refunds.service';
import { PAYMENT_METRICS } from '../tokens';
import type { WalletGateway } from '../wallet';
import { WALLET } from '../wallet.provider';
import { decideOnNotification } from './notification-decision';

/**
 * Asynchronous wallet notifications (§3, rule 9): verify the signature first (a bad one changes
 * nothing and is answered 400), store the notification keyed by its notify_id, confirm the
 * state with `query`, apply it through the same guarded transitions as the resolver, and only
 * then acknowledge. A resend of a processed notification is acknowledged without any effect.
 */
@Injectable()
export class NotificationsService {
  constructor(
    @Inject('DATA_SOURCE') private readonly ds: DataSource,
    @Inject(WALLET) private readonly wallet: WalletGateway,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(PAYMENT_METRICS) private readonly metrics: PaymentMetrics,
    private readonly payments: PaymentStore,
    private readonly refunds: RefundsService,
  ) {}

  get walletName(): string {
    return this.wallet.walletName;
  }

  /** Returns the body the wallet expects as acknowledgement; throws 400 for a rejected notification. */
  async receive(form: Record<string, string>): Promise<string> {
    const verification = this.wallet.verifyNotification(form);
    if (verification.kind === 'rejected') {
      this.metrics.notifications.inc({ outcome: `rejected_${verification.reason}` });
      this.logger.warn(
        { reason: verification.reason, message: verification.message, outTradeNo: form['out_trade_no'] },
        'wallet notification rejected',
      );
      throw new AdmitError(400, 'INVALID_NOTIFICATION', `Notification rejected: ${verification.message}.`);
    }
    const n = verification.notification;
    const stored = (await this.ds.query(
      `INSERT INTO wallet_notifications (wallet, notify_id, partner_trans_id, action, trade_status, fields)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb)
       ON CONFLICT (wallet, notify_id) DO UPDATE SET deliveries = wallet_notifications.deliveries + 1
       RETURNING processed_at, outcome`,
      [
        this.wallet.walletName,
        n.notifyId,
        n.partnerTransId,
        n.action ?? null,
        n.tradeStatus ?? null,
        JSON.stringify(n.fields),
      ],
    )) as { processed_at: Date | null; outcome: string | null }[];
    if (stored[0]?.processed_at) {
      this.metrics.notifications.inc({ outcome: 'duplicate' });
      return this.wallet.notificationAckBody;
    }
    const outcome = await this.apply(n.partnerTransId, n.fields['partner_refund_id']);
    await this.ds.query(
      `UPDATE wallet_notifications SET processed_at = now(), outcome = $3 WHERE wallet = $1 AND notify_id = $2`,
      [this.wallet.walletName, n.notifyId, outcome],
    );
    this.metrics.notifications.inc({ outcome: outcome.split(':')[0] ?? outcome });
    this.logger.info(
      { notifyId: n.notifyId, partnerTransId: n.partnerTransId, action: n.action, tradeStatus: n.tradeStatus, outcome },
      'wallet notification processed',
    );
    return this.wallet.notificationAckBody;
  }

  private async apply(partnerTransId: string, partnerRefundId: string | undefined): Promise<string> {
    if (partnerRefundId) {
      const refund = await this.refunds.byPartnerRefundId(partnerRefundId);
      if (refund?.status === 'pending') await this.refunds.nudge(refund.id);
    }
    const payment = await this.payments.byPartnerTransId(partnerTransId);
    if (!payment) return 'unknown_trade';
    const q = await this.wallet.query(partnerTransId);
    this.metrics.walletCalls.inc({ op: 'query', outcome: q.kind });
    const d = decideOnNotification(
      {
        status: payment.status,
        phase: payment.resolve_phase,
        amount: { value: Number(payment.amount_value), currency: payment.currency },
      },
      q,
    );
    switch (d.kind) {
      case 'succeed':
        return (await this.payments.markSucceeded(payment.id, d.trade, 'notification'))
          ? 'applied:succeeded'
          : 'none:raced';
      case 'fail':
        return (await this.payments.markFailed(payment.id, d.code, d.message, 'notification'))
          ? 'applied:failed'
          : 'none:raced';
      case 'none':
        return `none:${d.note}`.slice(0, 200);
      case 'anomaly':
        this.metrics.alarms.inc({ kind: 'notification' });
        this.logger.error(
          { paymentId: payment.id, partnerTransId, reason: d.reason, alarm: 'wallet_state_mismatch' },
          'ALARM: wallet state contradicts a final payment',
        );
        return `anomaly:${d.reason}`.slice(0, 200);
    }
  }
}
