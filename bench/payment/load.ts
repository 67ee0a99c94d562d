/**
 * HTTP load against the payment service: node:http with a keep-alive agent (one connection per
 * client), closed loop (N clients, each sends its next request when the previous answer is in)
 * and open loop (requests at a fixed rate whatever the answers do; latency counted from the
 * moment each request was due, so a stall is not hidden by the client waiting: no coordinated
 * omission).
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export type Answer = { status: number; body: string; replayed: boolean };
export type Request = { path: string; headers: Record<string, string>; body: string };

export class HttpClient {
  private readonly agent: http.Agent;

  constructor(
    private readonly host: string,
    private readonly port: number,
    maxSockets: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  post(r: Request): Promise<Answer> {
    const body = Buffer.from(r.body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.host,
          port: this.port,
          method: 'POST',
          path: r.path,
          agent: this.agent,
          headers: { ...r.headers, 'content-type': 'application/json', 'content-length': String(body.length) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              replayed: res.headers['idempotent-replayed'] === 'true',
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export type LatencySummary = {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
};

export function summarise(ms: number[]): LatencySummary {
  const xs = [...ms].sort((a, b) => a - b);
  const at = (q: number): number =>
    round(xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))] ?? NaN, 2);
  return {
    count: xs.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    p999: at(0.999),
    max: round(xs[xs.length - 1] ?? NaN, 2),
    mean: round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length), 2),
  };
}

export const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

export type LoadResult = {
  /** answers that met `ok`, completed inside the measured window */
  ok: number;
  windowSec: number;
  okPerSec: number;
  latencyMs: LatencySummary;
  /** every answer in the window by outcome: HTTP status (`201`, `409`…), `201:not-ok`, `error:<code>` */
  outcomes: Record<string, number>;
  notOk: number;
  /** wall-clock bounds of the measured window (epoch ms) */
  from: number;
  to: number;
};

type Recorder = {
  record(outcome: string, ok: boolean, latencyMs: number, endedAt: number): void;
  result(): LoadResult;
};

function recorder(from: number, to: number): Recorder {
  const lat: number[] = [];
  const outcomes: Record<string, number> = {};
  let ok = 0;
  let notOk = 0;
  return {
    record(outcome, good, ms, endedAt) {
      if (endedAt < from || endedAt > to) return;
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      if (good) {
        ok++;
        lat.push(ms);
      } else notOk++;
    },
    result() {
      const windowSec = (to - from) / 1000;
      return {
        ok,
        windowSec: round(windowSec, 2),
        okPerSec: round(ok / windowSec),
        latencyMs: summarise(lat),
        outcomes,
        notOk,
        from,
        to,
      };
    },
  };
}

async function send(
  client: HttpClient,
  req: Request,
  ok: (a: Answer) => boolean,
): Promise<{ outcome: string; good: boolean }> {
  try {
    const a = await client.post(req);
    const good = ok(a);
    return { outcome: good ? String(a.status) : `${a.status}:not-ok`, good };
  } catch (err) {
    return { outcome: `error:${(err as NodeJS.ErrnoException).code ?? 'unknown'}`, good: false };
  }
}

/**
 * N clients, each on its own keep-alive connection, for `seconds`; answers completing in the
 * first `skipSec` (ramp-up) are not counted.
 */
export async function closedLoop(o: {
  client: HttpClient;
  clients: number;
  seconds: number;
  skipSec: number;
  next: () => Request;
  ok: (a: Answer) => boolean;
}): Promise<LoadResult> {
  const start = Date.now();
  const end = start + o.seconds * 1000;
  const rec = recorder(start + o.skipSec * 1000, end);
  const worker = async (): Promise<void> => {
    while (Date.now() < end) {
      const t0 = performance.now();
      const { outcome, good } = await send(o.client, o.next(), o.ok);
      rec.record(outcome, good, performance.now() - t0, Date.now());
    }
  };
  await Promise.all(Array.from({ length: o.clients }, worker));
  return rec.result();
}

/**
 * Requests at `ratePerSec`, evenly spaced, for `seconds`, whatever the answers do (as many in
 * flight as it takes); latency from the time each request was due.
 */
export async function openLoop(o: {
  client: HttpClient;
  ratePerSec: number;
  seconds: number;
  skipSec: number;
  next: () => Request;
  ok: (a: Answer) => boolean;
}): Promise<LoadResult & { sent: number; maxInFlight: number; targetRatePerSec: number }> {
  const t0 = performance.now();
  const startWall = Date.now();
  const rec = recorder(startWall + o.skipSec * 1000, startWall + o.seconds * 1000);
  const total = Math.floor(o.ratePerSec * o.seconds);
  const interval = 1000 / o.ratePerSec;
  let sent = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const pending = new Set<Promise<void>>();
  while (sent < total) {
    const now = performance.now();
    while (sent < total && t0 + sent * interval <= now) {
      const due = t0 + sent * interval;
      sent++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const p: Promise<void> = send(o.client, o.next(), o.ok).then(({ outcome, good }) => {
        inFlight--;
        // the end of the window is judged by when the request was due, so every request due
        // inside it counts, however late its answer
        rec.record(outcome, good, performance.now() - due, startWall + (due - t0));
        pending.delete(p);
      });
      pending.add(p);
    }
    const wait = t0 + sent * interval - performance.now();
    await sleep(Math.max(1, Math.min(wait, 5)));
  }
  await Promise.race([Promise.all(pending), sleep(30_000)]);
  const r = rec.result();
  return { ...r, sent, maxInFlight, targetRatePerSec: round(o.ratePerSec) };
}
