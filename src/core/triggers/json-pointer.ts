/**
 * JSON pointers (RFC 6901) over parsed JSON, for inbound hooks that map fields of a foreign body to a
 * source bucket and key. Pure. Only a document's own properties are followed, so a pointer such as
 * `/__proto__/polluted` or `/constructor/name` finds nothing instead of reaching Object.prototype.
 */
import { isPlainObject } from '../plain-object.js';
import { ok, refused, type Result } from '../result.js';

/** Deeper pointers are refused: no real payload needs them, and they bound the work per request. */
export const MAX_POINTER_SEGMENTS = 32;
export const MAX_POINTER_LENGTH = 1024;

/**
 * The pointers a hook's mapping may hold, as a pattern so the document states it: what parsePointer
 * accepts (at most MAX_POINTER_SEGMENTS segments, `~` only as `~0` or `~1`), without NUL, which the
 * database cannot store. The length limit is the schema's `maxLength`.
 */
export const mappingPointerPattern = new RegExp(`^(?:/(?:[^~/\\u0000]|~[01])*){0,${MAX_POINTER_SEGMENTS}}$`);

/** The reference tokens of a pointer, or what a valid pointer would be (the "what" of "Expected …"). */
export type ParsedPointer = Result<string[], string>;

/** Splits a pointer into unescaped reference tokens (`~1` is `/`, `~0` is `~`, in that order). */
export function parsePointer(text: string): ParsedPointer {
  if (text.length > MAX_POINTER_LENGTH)
    return refused(`a pointer of at most ${MAX_POINTER_LENGTH} characters`);
  if (text === '') return ok([]);
  if (!text.startsWith('/')) return refused('a pointer that is empty or starts with "/"');
  const raw = text.slice(1).split('/');
  if (raw.length > MAX_POINTER_SEGMENTS)
    return refused(`a pointer of at most ${MAX_POINTER_SEGMENTS} segments`);
  if (raw.some((segment) => /~(?![01])/.test(segment)))
    return refused('a pointer whose "~" is always followed by 0 or 1');
  return ok(raw.map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~')));
}

export interface PointerMiss {
  reason: 'invalid_pointer' | 'missing';
  message: string;
}

/** The value a pointer leads to, or why there is none. */
export type PointerResult = Result<unknown, PointerMiss>;

/** An array index per RFC 6901: `0` or digits without a leading zero (no `-`, no signs, no spaces). */
const arrayIndexPattern = /^(?:0|[1-9]\d{0,8})$/;

export function resolvePointer(document: unknown, text: string): PointerResult {
  const parsed = parsePointer(text);
  if (!parsed.ok) return refused({ reason: 'invalid_pointer', message: `Expected ${parsed.error}` });
  let current = document;
  for (const [depth, segment] of parsed.value.entries()) {
    const next = child(current, segment);
    if (next === undefined) {
      const at = text
        .slice(1)
        .split('/')
        .slice(0, depth + 1)
        .join('/');
      return refused({ reason: 'missing', message: `Nothing in the body at /${at}` });
    }
    current = next.value;
  }
  return ok(current);
}

/** One step down, own properties and in-range array indices only. */
function child(node: unknown, segment: string): { value: unknown } | undefined {
  if (Array.isArray(node)) {
    if (!arrayIndexPattern.test(segment)) return undefined;
    const index = Number(segment);
    return index < node.length ? { value: node[index] as unknown } : undefined;
  }
  if (isPlainObject(node) && Object.hasOwn(node, segment)) {
    return { value: node[segment] };
  }
  return undefined;
}
