import { Counter, Gauge, type Registry } from 'prom-client';

/** Metrics of the payment flow, registered once per process registry. */
export type PaymentMetrics = {
  /** Payments reaching a final state, by status and by what resolved them. */
  resolved: Counter<'status' | 'by'>;
  /** Wallet calls made by the resolver, by operation and outcome kind. */
  walletCalls: Counter<'op' | 'outcome'>;
  /** Alarms: a payment or refund that needs a human (cancel refused or never confirmed, anomalies). */
  alarms: Counter<'kind'>;
  /** Rows due or in flight for the resolver, sampled each pass. */
  backlog: Gauge<'table'>;
  /** Wallet notifications received, by outcome. */
  notifications: Counter<'outcome'>;
};

const cache = new WeakMap<Registry, PaymentMetrics>();

export function paymentMetrics(registry: Registry): PaymentMetrics {
  const hit = cache.get(registry);
  if (hit) return hit;
  const registers = [registry];
  const m: PaymentMetrics = {
    resolved: new Counter({
      name: 'admit_payments_resolved_total',
      help: 'Payments reaching a final state',
      labelNames: ['status', 'by'],
      registers,
    }),
    walletCalls: new Counter({
      name: 'admit_payment_resolver_wallet_calls_total',
      help: 'Wallet calls made by the resolver',
      labelNames: ['op', 'outcome'],
      registers,
    }),
    alarms: new Counter({
      name: 'admit_payment_alarms_total',
      help: 'Payments or refunds that need manual review',
      labelNames: ['kind'],
      registers,
    }),
    backlog: new Gauge({
      name: 'admit_payment_resolver_backlog',
      help: 'Unfinished payments/refunds the resolver owns',
      labelNames: ['table'],
      registers,
    }),
    notifications: new Counter({
      name: 'admit_wallet_notifications_total',
      help: 'Wallet notifications received',
      labelNames: ['outcome'],
      registers,
    }),
  };
  cache.set(registry, m);
  return m;
}
