import pino, { type Logger } from 'pino';
import { currentFlow } from './context';

export type { Logger } from 'pino';

/**
 * Structured JSON logs on stdout. Every line carries the service name and, when there is one,
 * the correlation id of the flow it belongs to (from the async context), so one sale can be
 * followed across services with a single filter.
 */
export function createLogger(service: string, level: string = process.env['LOG_LEVEL'] ?? 'info'): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const flow = currentFlow();
      return flow
        ? {
            correlationId: flow.correlationId,
            causationId: flow.causationId ?? undefined,
            requestId: flow.requestId ?? undefined,
          }
        : {};
    },
    redact: {
      paths: ['secret', '*.secret', 'authorization', '*.authorization', 'headers.authorization'],
      censor: '[redacted]',
    },
  });
}
