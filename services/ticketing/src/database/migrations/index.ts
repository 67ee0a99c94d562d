import { MessagingOutboxSignal1764748800000, MessagingPublishedLog1764835200000 } from '@admit/messaging';
import { Initial1764144000000 } from './1764144000000-initial';
import { SlotsHolds1764489600000 } from './1764489600000-slots-holds';

export const TICKETING_MIGRATIONS = [
  Initial1764144000000,
  SlotsHolds1764489600000,
  MessagingOutboxSignal1764748800000,
  MessagingPublishedLog1764835200000,
];
