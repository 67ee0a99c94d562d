import { MessagingOutboxSignal1764748800000, MessagingPublishedLog1764835200000 } from '@admit/messaging';
import { Initial1764230400000 } from './1764230400000-initial';
import { CouponSaga1764489600000 } from './1764489600000-coupon-saga';

export const PROMOTIONS_MIGRATIONS = [
  Initial1764230400000,
  CouponSaga1764489600000,
  MessagingOutboxSignal1764748800000,
  MessagingPublishedLog1764835200000,
];
