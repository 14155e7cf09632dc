/**
 * zod's issues in the service's words: every schema failure (a graph, a request body, a query) becomes a
 * ValidationIssue with a JSON pointer, a precise code and an "Expected … but received …" message.
 */
import type { z } from 'zod';
import { isPlainObject } from '../plain-object.js';
import { issue, issueWords, plural, pointer, type ValidationIssue } from './issues.js';

const expectedTypeWords: Record<string, string> = {
  object: 'an object',
  array: 'an array',
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
};

/** Plain-words expectations for patterned strings, keyed by field name. */
const patternWords: Record<string, string> = {
  bucket: 'a bucket name of lower-case letters, digits, dots and hyphens',
  storage: 'a connection name of up to 64 letters, digits, dots, underscores and hyphens',
  color: 'a colour as #rrggbb or #rrggbbaa',
  background: 'a colour as #rrggbb or #rrggbbaa',
  contentType: 'a media type such as image/webp',
  callbackUrl: 'an http or https URL',
  key: 'a key without control characters',
  versionId: 'a version id without control characters',
  cacheControl: 'a Cache-Control value without control characters',
  metadata: 'a metadata value without control characters',
  text: 'text without NUL characters',
  label: 'a label without control characters',
  name: 'a name without control characters',
  prefix: 'a prefix without control characters',
  suffix: 'a suffix without control characters',
  pointer: 'a JSON pointer: empty, or up to 32 "/"-separated segments where "~" is only ~0 or ~1',
};

/** Plain-words expectations for zod's string formats, for fields without words of their own. */
const formatWords: Record<string, string> = {
  datetime: 'a date and time in ISO 8601, such as 2026-01-31T09:00:00Z',
  date: 'a date in ISO 8601, such as 2026-01-31',
  url: 'a URL',
  email: 'an email address',
};

/** Plain-words expectations for the property names of a record, keyed by the record's field name. */
const propertyNameWords: Record<string, string> = {
  metadata: 'a metadata name of 1 to 64 lower-case letters, digits and hyphens',
};

function fieldName(path: readonly PropertyKey[]): string {
  for (let i = path.length - 1; i >= 0; i--) {
    const segment = path[i];
    if (typeof segment === 'string')
      return i === path.length - 1 ? segment : `${segment}[${String(path[i + 1])}]`;
  }
  return 'the value';
}

/** Objects without a `type` are graph nodes or the batch itself. */
function objectName(input: unknown, rootName: string): string {
  return isPlainObject(input) && typeof input.type === 'string' ? input.type : rootName;
}

export function translateZodIssues(
  zodIssues: readonly z.core.$ZodIssue[],
  base: (string | number)[],
  rootName = 'the graph',
): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const raw of zodIssues) {
    const segments = [...base, ...raw.path.map((s) => (typeof s === 'symbol' ? String(s) : s))];
    const path = pointer(segments);
    const name = raw.path.length || base.length ? fieldName(raw.path.length ? raw.path : base) : rootName;
    const input = raw.input;
    switch (raw.code) {
      case 'invalid_type': {
        const words = expectedTypeWords[raw.expected] ?? `a value of type ${raw.expected}`;
        out.push(issue(path, input === undefined ? 'missing_field' : 'invalid_type', words, name, input));
        break;
      }
      case 'unrecognized_keys':
        for (const key of raw.keys) {
          out.push(
            issueWords(
              pointer([...segments, key]),
              'unknown_field',
              'a known field',
              objectName(input, rootName),
              JSON.stringify(key),
            ),
          );
        }
        break;
      case 'invalid_union': {
        const received = isPlainObject(input) ? input.type : undefined;
        if ((raw as { note?: string }).note === 'No matching discriminator') {
          out.push(
            received === undefined
              ? issue(path, 'missing_field', 'a unit type', 'type', received)
              : issue(path, 'unknown_unit_type', 'a known unit type', 'type', received),
          );
        } else {
          out.push(issue(path, 'invalid_value', 'one of the allowed shapes', name, input));
        }
        break;
      }
      case 'too_small':
      case 'too_big': {
        const bound = raw.code === 'too_small' ? raw.minimum : raw.maximum;
        const words =
          raw.origin === 'array'
            ? `${raw.code === 'too_small' ? 'at least' : 'at most'} ${plural(bound, 'item')}`
            : raw.origin === 'string'
              ? `${raw.code === 'too_small' ? 'at least' : 'at most'} ${plural(bound, 'character')}`
              : `a number ${raw.code === 'too_small' ? (raw.inclusive ? '>=' : '>') : raw.inclusive ? '<=' : '<'} ${String(bound)}`;
        out.push(issue(path, 'out_of_range', words, name, input));
        break;
      }
      case 'invalid_value':
        out.push(
          issue(
            path,
            'invalid_value',
            `one of ${raw.values.map((v) => JSON.stringify(v)).join(', ')}`,
            name,
            input,
          ),
        );
        break;
      case 'invalid_key': {
        // The path ends with the refused property name itself; the record is the segment before it.
        const record = raw.path.length > 1 ? fieldName(raw.path.slice(0, -1)) : rootName;
        out.push(
          issue(path, 'invalid_value', propertyNameWords[record] ?? 'a valid property name', record, input),
        );
        break;
      }
      case 'invalid_format': {
        // A value of a record (metadata) is worded by the record's name.
        const record = raw.path.length > 1 ? fieldName(raw.path.slice(0, -1)) : undefined;
        const words =
          patternWords[name] ??
          (record && patternWords[record]) ??
          formatWords[raw.format] ??
          `a value in the documented form`;
        out.push(issue(path, 'invalid_value', words, name, input));
        break;
      }
      default:
        // Refinements in units.ts phrase their message as the "what" of the sentence.
        out.push(issue(path, 'invalid_value', raw.message, name, input));
    }
  }
  return out;
}
