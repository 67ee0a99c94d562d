import { setTimeout as sleep } from 'node:timers/promises';

export type Reply<T = unknown> = { status: number; body: T; headers: Headers };

/** JSON over HTTP with a bearer key; never throws for a status. */
export async function call<T = any>(
  method: string,
  url: string,
  opts: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key) headers['authorization'] = `Bearer ${opts.key}`;
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** Polls `fn` until `until(value)` holds; returns the value or throws with the last one. */
export async function eventually<T>(
  fn: () => Promise<T>,
  until: (v: T) => boolean,
  timeoutMs = 30000,
  everyMs = 200,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!until(last)) {
    if (Date.now() > end)
      throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last)?.slice(0, 2000)}`);
    await sleep(everyMs);
    last = await fn();
  }
  return last;
}

/** An Alipay-style payment code (18 digits starting 28) whose last four digits pick the sandbox behaviour. */
export function paymentCode(last4: string | number): string {
  const tail = String(last4).padStart(4, '0');
  const middle = String(Math.floor(Math.random() * 1e12)).padStart(12, '0');
  return `28${middle}${tail}`;
}
