/**
 * Beijing time (GMT+8) helpers. The wallet's business day, cancel window and daily files all
 * use the GMT+8 calendar day: a day runs from 16:00 UTC of the previous UTC day to 16:00 UTC.
 */

export const BEIJING_OFFSET_MS = 8 * 3600 * 1000;

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function beijing(date: Date): Date {
  return new Date(date.getTime() + BEIJING_OFFSET_MS);
}

/** `YYYY-MM-DD` of the GMT+8 calendar day containing `date`. */
export function beijingDate(date: Date): string {
  const b = beijing(date);
  return `${b.getUTCFullYear()}-${two(b.getUTCMonth() + 1)}-${two(b.getUTCDate())}`;
}

/** `yyyy-MM-dd HH:mm:ss` GMT+8. */
export function beijingDateTime(date: Date): string {
  const b = beijing(date);
  return `${beijingDate(date)} ${two(b.getUTCHours())}:${two(b.getUTCMinutes())}:${two(b.getUTCSeconds())}`;
}

/** `yyyyMMddHHmmss` GMT+8. */
export function beijingCompact(date: Date): string {
  return beijingDateTime(date).replace(/[-: ]/g, '');
}

/** The [start, end) instants of a GMT+8 calendar day given as `YYYY-MM-DD`; undefined if invalid. */
export function beijingDayRange(day: string): { start: Date; end: Date } | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const startMs = Date.UTC(y, mo - 1, d) - BEIJING_OFFSET_MS;
  const start = new Date(startMs);
  if (beijingDate(start) !== day) return undefined;
  return { start, end: new Date(startMs + 24 * 3600 * 1000) };
}

/** Parses `yyyy-MM-dd HH:mm:ss` as GMT+8. */
export function parseBeijingDateTime(text: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!m) return undefined;
  const range = beijingDayRange(`${m[1]}-${m[2]}-${m[3]}`);
  const h = Number(m[4]);
  const mi = Number(m[5]);
  const s = Number(m[6]);
  if (range === undefined || h > 23 || mi > 59 || s > 59) return undefined;
  return new Date(range.start.getTime() + ((h * 60 + mi) * 60 + s) * 1000);
}

/** True when `yyyyMMddHHmmss` is a valid GMT+8 time. */
export function isCompactBeijingTime(text: string): boolean {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  return m !== null && parseBeijingDateTime(`${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}`) !== undefined;
}
