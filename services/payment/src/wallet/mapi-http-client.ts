import http from 'node:http';
import https from 'node:https';

/** What came back from one HTTP exchange with the gateway. Never throws. */
export type HttpExchange =
  { kind: 'response'; status: number; contentType?: string; body: Buffer } | { kind: 'error'; reason: string };

export type HttpPostOptions = {
  /** Total time for the exchange (connect, send, wait, read). */
  timeoutMs: number;
  /** Time allowed to establish the connection. */
  connectTimeoutMs: number;
  /** Answers larger than this are cut off and reported as an error. */
  maxResponseBytes?: number;
  agent?: http.Agent;
};

const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * POSTs an `application/x-www-form-urlencoded` body. The total timeout is an AbortSignal on the
 * request; the connect timeout aborts the same controller if the socket is not connected in time.
 */
export async function postForm(url: URL, body: string, options: HttpPostOptions): Promise<HttpExchange> {
  const controller = new AbortController();
  const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(options.timeoutMs)]);
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const transport = url.protocol === 'https:' ? https : http;
  const payload = Buffer.from(body, 'utf8');

  return await new Promise<HttpExchange>((resolve) => {
    let settled = false;
    let connectTimer: NodeJS.Timeout | undefined;
    const finish = (result: HttpExchange): void => {
      if (settled) return;
      settled = true;
      if (connectTimer !== undefined) clearTimeout(connectTimer);
      resolve(result);
    };

    const req = transport.request(url, {
      method: 'POST',
      signal,
      agent: options.agent,
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=UTF-8',
        'content-length': String(payload.length),
        accept: 'text/xml, application/xml',
      },
    });

    req.on('socket', (socket) => {
      if (!socket.connecting) return;
      connectTimer = setTimeout(() => {
        controller.abort(new Error(`connect timeout after ${options.connectTimeoutMs} ms`));
      }, options.connectTimeoutMs);
      socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
        if (connectTimer !== undefined) clearTimeout(connectTimer);
      });
    });

    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          res.destroy();
          finish({ kind: 'error', reason: `response larger than ${maxBytes} bytes` });
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        const contentType = res.headers['content-type'];
        finish({
          kind: 'response',
          status: res.statusCode ?? 0,
          ...(contentType !== undefined ? { contentType } : {}),
          body: Buffer.concat(chunks),
        });
      });
      res.on('error', (err) => finish({ kind: 'error', reason: describeError(err, signal, options.timeoutMs) }));
      res.on('aborted', () => finish({ kind: 'error', reason: 'response aborted' }));
    });

    req.on('error', (err) => finish({ kind: 'error', reason: describeError(err, signal, options.timeoutMs) }));
    req.end(payload);
  });
}

function describeError(err: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (signal.aborted) {
    const cause: unknown = signal.reason;
    // Duck-typed: the reason may come from another realm (DOMException), so no instanceof.
    if (typeof cause === 'object' && cause !== null) {
      const name = 'name' in cause ? String(cause.name) : '';
      const message = 'message' in cause ? String(cause.message) : '';
      if (name === 'TimeoutError') return `timeout after ${timeoutMs} ms`;
      if (message !== '') return message;
    }
    return 'aborted';
  }
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
