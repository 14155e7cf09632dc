/**
 * How an inbound hook finds its source image in a foreign JSON body: JSON pointers (or a fixed bucket)
 * to a bucket and a key on one storage connection. Pure. The values found must be strings that the
 * graph contract accepts as a StorageSource bucket and key; anything else is the sender's mistake and is
 * reported with the pointer that led to it.
 */
import { z } from 'zod';
import { storageSourceSchema } from '../graph/units.js';
import { DEFAULT_CONNECTION } from '../graph/units.js';
import { isPlainObject } from '../plain-object.js';
import { ok, refused, type Result } from '../result.js';
import { MAX_POINTER_LENGTH, mappingPointerPattern, resolvePointer } from './json-pointer.js';

const pointerSchema = z
  .string()
  .max(MAX_POINTER_LENGTH)
  .regex(mappingPointerPattern)
  .describe('JSON pointer (RFC 6901) into the request body, e.g. "/data/object/key".');

const fromPointer = z.strictObject({ pointer: pointerSchema });

export const hookMappingSchema = z.strictObject({
  connection: storageSourceSchema.shape.storage.describe(
    'Storage connection of the source (and of sinks that name none); "default" when omitted.',
  ),
  bucket: z
    .union([fromPointer, z.strictObject({ value: storageSourceSchema.shape.bucket })])
    .describe('Where the source bucket comes from: a pointer into the body, or a fixed bucket.'),
  key: fromPointer.describe('Where the source key comes from: a pointer into the body.'),
});
export type HookMapping = z.infer<typeof hookMappingSchema>;

export interface HookSource {
  connection: string;
  bucket: string;
  key: string;
}

/** Why a body gives no source: the pointer that led to the problem, and a sentence for the sender. */
export interface MappingProblem {
  pointer: string;
  message: string;
}

export type MappedSource = Result<HookSource, MappingProblem>;

export function mapHookBody(mapping: HookMapping, body: unknown): MappedSource {
  if (!isPlainObject(body)) return refused({ pointer: '', message: 'Expected the body to be a JSON object' });
  const bucket =
    'value' in mapping.bucket ? ok(mapping.bucket.value) : stringAt(body, mapping.bucket.pointer, 'bucket');
  if (!bucket.ok) return bucket;
  const key = stringAt(body, mapping.key.pointer, 'key');
  if (!key.ok) return key;

  if (!storageSourceSchema.shape.bucket.safeParse(bucket.value).success) {
    return refuse(bucketPointer(mapping), 'a bucket name (lower-case letters, digits, "." and "-")');
  }
  if (!storageSourceSchema.shape.key.safeParse(key.value).success) {
    return refuse(mapping.key.pointer, 'an object key of 1 to 1024 characters without control characters');
  }
  // Legal in S3, but from a foreign body they only ever mean a path trick on file-system storage.
  if (key.value.split('/').some((segment) => segment === '.' || segment === '..')) {
    return refuse(mapping.key.pointer, 'an object key without "." or ".." segments');
  }
  return ok({ connection: mapping.connection ?? DEFAULT_CONNECTION, bucket: bucket.value, key: key.value });
}

function bucketPointer(mapping: HookMapping): string {
  return 'pointer' in mapping.bucket ? mapping.bucket.pointer : '';
}

function stringAt(body: unknown, pointer: string, what: 'bucket' | 'key'): Result<string, MappingProblem> {
  const found = resolvePointer(body, pointer);
  if (!found.ok)
    return refused({ pointer, message: `Expected the ${what} at ${pointer}: ${found.error.message}` });
  if (typeof found.value !== 'string') return refuse(pointer, `a string (the ${what})`);
  return ok(found.value);
}

function refuse(pointer: string, what: string): { ok: false; error: MappingProblem } {
  return refused({ pointer, message: `Expected ${what} at ${pointer === '' ? 'the mapping' : pointer}` });
}
