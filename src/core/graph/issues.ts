/**
 * Validation issues: one JSON pointer, one stable code, one message form,
 * "Expected <what> for <name> but received <value>" (the form sharp uses for its options).
 */
export const issueCodes = [
  'invalid_json',
  'invalid_type',
  'missing_field',
  'unknown_field',
  'unknown_unit_type',
  'out_of_range',
  'invalid_value',
  'too_many_graphs',
  'too_many_sinks',
  'too_many_units',
  'too_deep',
  'too_many_pixels',
  'inverted_percentiles',
  'crop_outside_image',
  'missing_source',
  'misplaced_source',
  'missing_operation',
  'missing_format',
  'missing_sink',
  'misplaced_format',
  'misplaced_sink',
  'option_not_for_format',
  'duplicate_sink',
  'template_has_source',
  'unknown_placeholder',
] as const;

export type IssueCode = (typeof issueCodes)[number];

export interface ValidationIssue {
  /** JSON pointer (RFC 6901) into the submitted document. */
  path: string;
  code: IssueCode;
  message: string;
}

export function pointer(segments: readonly (string | number)[]): string {
  return segments.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** Short, safe rendering of a received value: never echoes more than a few dozen characters. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value);
  return text.length > 48 ? `${text.slice(0, 45)}…"` : text;
}

export function issue(
  path: string,
  code: IssueCode,
  what: string,
  name: string,
  received: unknown,
): ValidationIssue {
  return { path, code, message: `Expected ${what} for ${name} but received ${describeValue(received)}` };
}

/** Like `issue`, for a received thing that is already described in words (e.g. a unit type). */
export function issueWords(
  path: string,
  code: IssueCode,
  what: string,
  name: string,
  receivedWords: string,
): ValidationIssue {
  return { path, code, message: `Expected ${what} for ${name} but received ${receivedWords}` };
}

/** "1 item", "3 items". */
export function plural(count: number | bigint, noun: string): string {
  return `${String(count)} ${noun}${count === 1 || count === 1n ? '' : 's'}`;
}
