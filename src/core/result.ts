/**
 * The answer of a step for which refusing its input is an expected outcome (invalid JSON, a graph with
 * issues, an expired token): the value, or why not. Callers must look at `ok` before using either.
 */
export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function refused<E>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}
