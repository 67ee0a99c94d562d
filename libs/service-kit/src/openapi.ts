import { z } from 'zod';
import { errorBodySchema, type ApiScope } from '@admit/contracts';

export type Operation = {
  method: 'get' | 'post' | 'patch' | 'delete' | 'put';
  path: string;
  summary: string;
  /** Undefined = public. */
  scopes?: ApiScope[];
  idempotent?: boolean;
  body?: z.ZodType;
  /** Media type of the request body (default application/json). */
  bodyContentType?: string;
  query?: z.ZodType;
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
  tags?: string[];
};

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

/** Builds the service's OpenAPI 3.1 document from the same zod schemas that validate requests. */
export function buildOpenApi(info: { title: string; version: string; description: string }, operations: Operation[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorSchema = jsonSchema(errorBodySchema);
  for (const op of operations) {
    const params: unknown[] = [];
    for (const m of op.path.matchAll(/\{(\w+)\}/g)) {
      params.push({ name: m[1], in: 'path', required: true, schema: { type: 'string' } });
    }
    if (op.query) {
      const qs = jsonSchema(op.query) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(qs.properties ?? {})) {
        params.push({ name, in: 'query', required: qs.required?.includes(name) ?? false, schema });
      }
    }
    if (op.idempotent) {
      params.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        schema: { type: 'string', minLength: 1, maxLength: 255 },
      });
    }
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(op.responses)) {
      responses[status] = {
        description: r.description,
        ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: jsonSchema(r.schema) } } } : {}),
      };
    }
    responses['4XX'] = { description: 'Client error', content: { 'application/json': { schema: errorSchema } } };
    (paths[op.path] ??= {})[op.method] = {
      summary: op.summary,
      tags: op.tags ?? [],
      ...(op.scopes
        ? { security: [{ bearer: [] }], description: `Scopes: ${op.scopes.join(', ')}` }
        : { security: [] }),
      parameters: params,
      ...(op.body
        ? {
            requestBody: {
              required: true,
              content: { [op.bodyContentType ?? 'application/json']: { schema: jsonSchema(op.body) } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}

export const PLATFORM_OPERATIONS: Operation[] = [
  {
    method: 'get',
    path: '/health/live',
    summary: 'Liveness: the process is up',
    responses: { 200: { description: 'up' } },
    tags: ['platform'],
  },
  {
    method: 'get',
    path: '/health/ready',
    summary: 'Readiness: PostgreSQL, Redis and Kafka reachable',
    responses: { 200: { description: 'ready' }, 503: { description: 'a dependency is down' } },
    tags: ['platform'],
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    responses: { 200: { description: 'text exposition format' } },
    tags: ['platform'],
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    responses: { 200: { description: 'OpenAPI 3.1' } },
    tags: ['platform'],
  },
];
