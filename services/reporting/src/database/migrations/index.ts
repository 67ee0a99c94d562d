import { Initial1764230400000 } from './1764230400000-initial';

export const REPORTING_MIGRATIONS = [Initial1764230400000];
