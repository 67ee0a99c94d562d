/**
 * Calendar arithmetic in IANA time zones without a date library: the business date of an instant
 * in a merchant's or attraction's zone, and the UTC instants a local calendar day spans (23, 24 or
 * 25 hours around DST changes). Intl carries the time-zone database, so no offsets are hard-coded.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `timeZone` is an IANA zone this runtime knows (Asia/Shanghai, UTC, …). */
export function isValidTimeZone(timeZone: string): boolean {
  if (typeof timeZone !== 'string' || timeZone.length === 0 || timeZone.length > 64) return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

type WallClock = { year: number; month: number; day: number; hour: number; minute: number; second: number };

function wallClock(instantMs: number, timeZone: string): WallClock {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instantMs))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts['year'] ?? NaN,
    month: parts['month'] ?? NaN,
    day: parts['day'] ?? NaN,
    hour: parts['hour'] ?? NaN,
    minute: parts['minute'] ?? NaN,
    second: parts['second'] ?? NaN,
  };
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function toInstant(value: Date | string): number {
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (!Number.isFinite(ms)) throw new RangeError(`not an instant: ${String(value)}`);
  return ms;
}

/** The calendar date (`YYYY-MM-DD`) an instant falls on in `timeZone`. */
export function businessDate(instant: Date | string, timeZone: string): string {
  const w = wallClock(toInstant(instant), timeZone);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

/** UTC offset of `timeZone` at an instant, in milliseconds (Asia/Shanghai → +8 h). */
export function offsetMs(instantMs: number, timeZone: string): number {
  const whole = Math.floor(instantMs / 1000) * 1000;
  const w = wallClock(whole, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - whole;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

function parseDate(date: string): number {
  const m = DATE_RE.exec(date);
  if (!m) throw new RangeError(`not a YYYY-MM-DD date: ${date}`);
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (new Date(ms).toISOString().slice(0, 10) !== date) throw new RangeError(`not a calendar date: ${date}`);
  return ms;
}

/** The next calendar date: 2026-02-28 → 2026-03-01. */
export function nextDate(date: string): string {
  return new Date(parseDate(date) + 86_400_000).toISOString().slice(0, 10);
}

const DAY_MS = 86_400_000;

/**
 * The first instant of local calendar day `date` in `timeZone`. Usually local midnight; when
 * midnight does not exist (a DST gap at 00:00) it is the instant the clocks jump; when midnight
 * happens twice it is the first one.
 */
export function startOfLocalDay(date: string, timeZone: string): Date {
  const localMidnight = parseDate(date); // the wall clock 00:00 read as if it were UTC
  const candidates = [
    localMidnight - offsetMs(localMidnight - DAY_MS, timeZone),
    localMidnight - offsetMs(localMidnight, timeZone),
    localMidnight - offsetMs(localMidnight + DAY_MS, timeZone),
  ];
  let best: number | null = null;
  for (const t of candidates) {
    if (businessDate(new Date(t), timeZone) !== date) continue;
    if (businessDate(new Date(t - 1), timeZone) === date) continue; // not the first instant of the day
    if (best === null || t < best) best = t;
  }
  if (best === null) throw new RangeError(`cannot place ${date} in ${timeZone}`);
  return new Date(best);
}

/** The UTC instants `[start, end)` of local calendar day `date` in `timeZone`. */
export function localDayRange(date: string, timeZone: string): { start: Date; end: Date } {
  return { start: startOfLocalDay(date, timeZone), end: startOfLocalDay(nextDate(date), timeZone) };
}
