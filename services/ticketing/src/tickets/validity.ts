/** The local calendar date (YYYY-MM-DD) of `at` in `timeZone`. */
export function localDate(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

/** Offset of `timeZone` from UTC at `at`, in minutes (e.g. +480 for Asia/Shanghai). */
export function offsetMinutes(at: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - Math.floor(at.getTime() / 1000) * 1000) / 60000);
}

/** The instant local midnight starts `date` (YYYY-MM-DD) in `timeZone`. */
export function startOfLocalDay(date: string, timeZone: string): Date {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const guess = Date.UTC(y, m - 1, d);
  // Two passes settle DST transitions.
  let t = guess - offsetMinutes(new Date(guess), timeZone) * 60000;
  t = guess - offsetMinutes(new Date(t), timeZone) * 60000;
  return new Date(t);
}

export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

export type Validity = 'slot' | 'day' | { days: number };

/** Validity window of a ticket bought at `at`: today (local), or N local days from today. */
export function validityWindow(
  at: Date,
  timeZone: string,
  validity: Validity,
  slot?: { startsAt: Date; endsAt: Date },
): { from: Date; to: Date } {
  if (validity === 'slot') {
    if (!slot) throw new Error('slot validity needs a slot');
    return { from: slot.startsAt, to: slot.endsAt };
  }
  const today = localDate(at, timeZone);
  const days = validity === 'day' ? 1 : validity.days;
  return { from: startOfLocalDay(today, timeZone), to: startOfLocalDay(addDays(today, days), timeZone) };
}
