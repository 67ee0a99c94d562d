import { MessagingOutboxSignal1764748800000, MessagingPublishedLog1764835200000 } from '@admit/messaging';
import { Initial1764144000000 } from './1764144000000-initial';
import { KnownOrdersAttractions1764576000000 } from './1764576000000-known-orders-attractions';
import { ResolverRefundsNotifications1764403200000 } from './1764403200000-resolver-refunds-notifications';

export const PAYMENT_MIGRATIONS = [
  Initial1764144000000,
  ResolverRefundsNotifications1764403200000,
  KnownOrdersAttractions1764576000000,
  MessagingOutboxSignal1764748800000,
  MessagingPublishedLog1764835200000,
];
