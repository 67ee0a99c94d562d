import { Initial1764144000000 } from './1764144000000-initial';

export const PAYMENT_MIGRATIONS = [Initial1764144000000];
