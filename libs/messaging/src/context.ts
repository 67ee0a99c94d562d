import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * What follows one request or one consumed event through the code: the correlation id (the
 * whole flow, e.g. a counter sale across four services), the causation id (the event or request
 * that caused the current work) and the request id of the HTTP request, if any.
 */
export type FlowContext = {
  correlationId: string;
  causationId: string | null;
  requestId: string | null;
};

const storage = new AsyncLocalStorage<FlowContext>();

export function currentFlow(): FlowContext | undefined {
  return storage.getStore();
}

export function runInFlow<T>(ctx: FlowContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

/** A correlation id for new work that did not come with one. */
export function newCorrelationId(): string {
  return randomUUID();
}
