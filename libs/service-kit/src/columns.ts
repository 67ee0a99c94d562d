import type { ValueTransformer } from 'typeorm';

/** bigint columns (money in minor units, counters) come back from pg as strings: parse safely. */
export const bigintNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null) => {
    if (value === null || value === undefined) return value;
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${value} is not a safe integer`);
    return n;
  },
};

/** PostgreSQL unique_violation, optionally on a named constraint. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  return isViolation(err, '23505', constraint);
}

/** A CHECK constraint failed (PostgreSQL 23514), optionally a given one. */
export function isCheckViolation(err: unknown, constraint?: string): boolean {
  return isViolation(err, '23514', constraint);
}

function isViolation(err: unknown, sqlState: string, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const code = e?.code ?? e?.driverError?.code;
  const name = e?.constraint ?? e?.driverError?.constraint;
  return code === sqlState && (constraint === undefined || name === constraint);
}
