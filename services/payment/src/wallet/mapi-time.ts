/**
 * Time helpers for the Alipay mapi protocol. The wallet writes and expects times in Beijing time
 * (GMT+8, no daylight saving), whatever the merchant's own time zone is.
 */

const GMT8_OFFSET_MS = 8 * 60 * 60 * 1000;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function gmt8Parts(date: Date): { y: string; mo: string; d: string; h: string; mi: string; s: string } {
  const shifted = new Date(date.getTime() + GMT8_OFFSET_MS);
  return {
    y: pad(shifted.getUTCFullYear(), 4),
    mo: pad(shifted.getUTCMonth() + 1),
    d: pad(shifted.getUTCDate()),
    h: pad(shifted.getUTCHours()),
    mi: pad(shifted.getUTCMinutes()),
    s: pad(shifted.getUTCSeconds()),
  };
}

/** `yyyyMMddHHmmss` in GMT+8 (spot.pay `trans_create_time`, `alipay_pay_time`). */
export function formatCompactGmt8(date: Date): string {
  const p = gmt8Parts(date);
  return `${p.y}${p.mo}${p.d}${p.h}${p.mi}${p.s}`;
}

/** `yyyy-MM-dd HH:mm:ss` in GMT+8 (secmerchant `timestamp`, notification `notify_time`). */
export function formatDashedGmt8(date: Date): string {
  const p = gmt8Parts(date);
  return `${p.y}-${p.mo}-${p.d} ${p.h}:${p.mi}:${p.s}`;
}

/**
 * Parses `yyyyMMddHHmmss` or `yyyy-MM-dd HH:mm:ss` as a GMT+8 wall-clock time.
 * Returns undefined for anything else (including impossible dates such as 20260230…).
 */
export function parseGmt8(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const m =
    /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text) ??
    /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const utc = Date.UTC(y, mo - 1, d, h, mi, s) - GMT8_OFFSET_MS;
  const date = new Date(utc);
  // Reject values that Date.UTC silently normalised (month 13, day 31 in April, hour 24, …).
  const back = gmt8Parts(date);
  if (Number(back.mo) !== mo || Number(back.d) !== d || Number(back.h) !== h || Number(back.mi) !== mi) {
    return undefined;
  }
  return date;
}
