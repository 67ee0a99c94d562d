/**
 * Shared pieces of the promotions and reporting benchmarks: the payment bench's private Kafka
 * broker, envelopes built the way the outbox writer builds them, percentiles, and the
 * results file.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HEADERS, payloadSchema, topicOf, type EventPayload, type EventType } from '@admit/contracts';
export { startBroker, stopBroker, type Broker } from '../payment/tools';

export const say = (s: string): void => {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);
};

export type KafkaMessage = { key: string; value: string; headers: Record<string, string> };

/** One event as the outbox relay publishes it (envelope in the value, ids in the headers). */
export function envelope<T extends EventType>(
  type: T,
  merchantId: string,
  aggregateType: string,
  aggregateId: string,
  payload: EventPayload<T>,
  validate = true,
): { topic: string; message: KafkaMessage } {
  const parsed = validate ? (payloadSchema(type, 1)!.parse(payload) as unknown) : payload;
  const eventId = randomUUID();
  const correlationId = randomUUID();
  return {
    topic: topicOf(type),
    message: {
      key: aggregateId,
      value: JSON.stringify({
        eventId,
        type,
        schemaVersion: 1,
        occurredAt: new Date().toISOString(),
        merchantId,
        correlationId,
        causationId: null,
        aggregateType,
        aggregateId,
        payload: parsed,
      }),
      headers: {
        [HEADERS.eventId]: eventId,
        [HEADERS.eventType]: type,
        [HEADERS.schemaVersion]: '1',
        [HEADERS.correlationId]: correlationId,
      },
    },
  };
}

export const r1 = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

export type Percentiles = { count: number; p50: number; p95: number; p99: number; max: number; mean: number };

export function percentiles(ms: number[]): Percentiles {
  const xs = [...ms].sort((a, b) => a - b);
  const at = (q: number): number =>
    r1(xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))] ?? NaN, 2);
  return {
    count: xs.length,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: r1(xs[xs.length - 1] ?? NaN, 2),
    mean: r1(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length), 2),
  };
}

export const stamp = (d: Date): string =>
  d
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');

export function writeResults(root: string, name: string, started: Date, report: unknown): string {
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const file = `${name}-${stamp(started)}.json`;
  writeFileSync(join(dir, file), json);
  writeFileSync(join(dir, `${name}-latest.json`), json);
  return `bench/results/${file}`;
}

export async function postJson(
  url: string,
  key: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { raw: text };
  }
  return { status: r.status, body: parsed };
}

export async function until<T>(
  f: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs: number,
  everyMs = 200,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let v: T | undefined;
    try {
      v = await f();
      if (ok(v)) return v;
    } catch {
      /* retry */
    }
    if (Date.now() > end)
      throw new Error(`timed out after ${timeoutMs} ms${v === undefined ? '' : `: ${JSON.stringify(v)}`}`);
    await new Promise((res) => setTimeout(res, everyMs));
  }
}
