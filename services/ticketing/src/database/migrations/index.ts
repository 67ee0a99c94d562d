import { Initial1764144000000 } from './1764144000000-initial';

export const TICKETING_MIGRATIONS = [Initial1764144000000];
