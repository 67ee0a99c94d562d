import { TOPICS } from '@admit/contracts';

/** The topics reporting's read models are built from (the platform adds `merchants` for API keys). */
export const REPORTING_TOPICS = [
  TOPICS.merchants.name,
  TOPICS.payments.name,
  TOPICS.tickets.name,
  TOPICS.scans.name,
  TOPICS.catalog.name,
  TOPICS.coupons.name,
];

/**
 * The read models: everything rebuilt from the topics. merchant_fee_rates (acquirer
 * configuration) and reconciliations (results of uploaded files) are not derived from events and
 * survive a rebuild.
 */
export const READ_MODEL_TABLES = [
  'merchants',
  'attractions',
  'ledger_payments',
  'ledger_refunds',
  'ledger_discounts',
  'daily_totals',
  'tickets',
  'scans',
  'attraction_occupancy',
];
