import { Injectable, type PipeTransform } from '@nestjs/common';
import { z } from 'zod';
import { AdmitError, type ErrorDetail } from './errors';

function issueCode(issue: z.core.$ZodIssue): string {
  // Parsed with reportInput: an absent value is "missing", whether the schema is a type, an enum or a union.
  if (issue.input === undefined && (issue.code === 'invalid_value' || issue.code === 'invalid_union'))
    return 'REQUIRED';
  switch (issue.code) {
    case 'unrecognized_keys':
      return 'UNKNOWN_FIELD';
    case 'invalid_type':
      return issue.input === undefined ? 'REQUIRED' : 'INVALID_TYPE';
    case 'too_small':
      return 'TOO_SMALL';
    case 'too_big':
      return 'TOO_BIG';
    case 'invalid_format':
      return 'INVALID_FORMAT';
    case 'invalid_value':
      return 'INVALID_VALUE';
    default:
      return 'INVALID';
  }
}

/** One detail per bad field; unknown fields become one detail each, named by their path. */
export function zodDetails(error: z.ZodError, root = ''): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const issue of error.issues) {
    const base = [root, ...issue.path.map(String)].filter(Boolean).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const name = key === '' ? '""' : key; // an empty key still needs a visible field name
        details.push({ field: base ? `${base}.${name}` : name, code: 'UNKNOWN_FIELD', message: 'Unknown field.' });
      }
      continue;
    }
    details.push({ field: base || '(body)', code: issueCode(issue), message: issue.message });
  }
  return details;
}

/** Parses `value` or throws 400 VALIDATION_FAILED with one detail per bad field. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, root = ''): z.infer<S> {
  // reportInput: issues carry the offending input, which tells "missing" from "wrong type".
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) throw AdmitError.validation(zodDetails(result.error, root));
  const nul = nulFields(result.data, root);
  if (nul.length > 0) {
    throw AdmitError.validation(
      nul.map((field) => ({
        field,
        code: 'INVALID_CHARACTER',
        message: 'Must not contain the NUL character (U+0000).',
      })),
    );
  }
  return result.data;
}

/**
 * Fields of an accepted value whose text holds U+0000. PostgreSQL text cannot store it (the
 * insert fails with 22021 → a 500), and no Admit field has a use for it. Walks only what the
 * schema let through, so the depth is the schema's.
 */
function nulFields(value: unknown, root: string): string[] {
  const found: string[] = [];
  const walk = (v: unknown, path: string) => {
    if (typeof v === 'string') {
      if (v.includes('\u0000')) found.push(path || '(body)');
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, path ? `${path}.${i}` : String(i)));
    } else if (v && typeof v === 'object' && !(v instanceof Date)) {
      for (const [k, item] of Object.entries(v)) {
        const at = path ? `${path}.${k}` : k;
        if (k.includes('\u0000')) found.push(at);
        walk(item, at);
      }
    }
  };
  walk(value, root);
  return found;
}

/** `@Body(new ZodPipe(schema))`. */
@Injectable()
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    private readonly root = '',
  ) {}
  transform(value: unknown): z.infer<S> {
    return parseOr400(this.schema, value, this.root);
  }
}

/** `?limit=&cursor=` of api-v1.md. */
export const pageQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(200).optional(),
});
export type PageQuery = z.infer<typeof pageQuerySchema>;

export type Page<T> = { data: T[]; nextCursor: string | null };

/** Cursor = the last id of the page, base64url-encoded (ids sort by creation time). */
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | null {
  if (!cursor) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[a-z]{3}_[0-9a-z]{25}$/.test(text)) {
    throw AdmitError.validation([{ field: 'cursor', code: 'INVALID_FORMAT', message: 'Not a cursor from this list.' }]);
  }
  return text;
}

export function toPage<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const data = rows.slice(0, limit);
  const last = data[data.length - 1];
  return { data, nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
}
