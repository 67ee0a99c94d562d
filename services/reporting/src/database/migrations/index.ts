import { MessagingOutboxSignal1764748800000, MessagingPublishedLog1764835200000 } from '@admit/messaging';
import { Initial1764230400000 } from './1764230400000-initial';
import { LedgerCompleteness1764316800000 } from './1764316800000-ledger-completeness';

export const REPORTING_MIGRATIONS = [
  Initial1764230400000,
  LedgerCompleteness1764316800000,
  MessagingOutboxSignal1764748800000,
  MessagingPublishedLog1764835200000,
];
