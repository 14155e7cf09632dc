/**
 * Bucket event bodies → ObjectCreated events (docs/architecture.md §10). Pure: no I/O, never throws on any input.
 *
 * Shapes understood:
 * - AWS S3 notifications: `{ "Records": [...] }` with `eventVersion` `2.x` (any minor: 2.1 added Glacier
 *   restore data, 2.2 replication, 2.3 lifecycle and tiering events; none moves the fields read here).
 *   Object keys are form-encoded: `+` is a space, then percent escapes (`%2F`, UTF-8 sequences).
 * - MinIO webhook bodies: `{ "EventName", "Key", "Records" }`; the records are AWS-shaped (keys encoded
 *   the same way) with an `s3:` prefix on event names, and each object carries its user metadata
 *   (`userMetadata`, keys as sent: `X-Amz-Meta-…`), so the ingest can tell pixelshift's outputs without a
 *   HEAD (`generated`).
 * - EventBridge: `{ "detail-type": "Object Created", "source": "aws.s3", "detail": { bucket, object } }`;
 *   its `detail.object.key` is the plain key (no form encoding).
 * - `s3:TestEvent`, which S3 sends once when a notification is configured: acknowledged, nothing else.
 *
 * Records that are not ObjectCreated (ObjectRemoved, restores, replication…) are ignored and counted, so
 * a bucket that sends everything does not make the sender retry forever.
 */
import { isPlainObject } from '../plain-object.js';
import { isGeneratedObject } from '../storage/generated-metadata.js';
import type { ObjectCreatedEvent } from './trigger-types.js';

/** Records per body: S3 sends one per notification; more than this is not a bucket talking. */
export const MAX_RECORDS_PER_BODY = 1000;
/** S3's own limit on key length, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/** Event versions understood: any 2.x (later minors add fields, none moves the ones read here). */
export const S3_EVENT_VERSION_PATTERN = /^2\.\d{1,4}$/;
/** The longest event name, source, detail type or other text field read from a body. */
export const MAX_EVENT_TEXT_LENGTH = 256;
/** Entries of a record's `userMetadata`: S3 caps user metadata at 2 KB, so more is not an object's. */
export const MAX_USER_METADATA_ENTRIES = 256;
/** The longest `userMetadata` name or value read (S3's whole metadata fits in 2 KB; MinIO's in 8 KB). */
export const MAX_USER_METADATA_TEXT_LENGTH = 8192;

export interface S3EventIssue {
  /** JSON pointer into the body. */
  path: string;
  code:
    | 'invalid_type'
    | 'missing_field'
    | 'invalid_value'
    | 'invalid_key'
    | 'unsupported_event_version'
    | 'unknown_shape';
  message: string;
}

export type S3EventBody =
  | { kind: 'test' }
  | {
      kind: 'events';
      events: ObjectCreatedEvent[];
      /** Records that were not ObjectCreated events. */
      ignored: number;
    }
  | {
      kind: 'invalid';
      /** `too_many_records` when over MAX_RECORDS_PER_BODY, `invalid_event` for everything else. */
      code: 'invalid_event' | 'too_many_records';
      message: string;
      issues: S3EventIssue[];
    };

/** Bucket names as S3, MinIO and the local store allow them (no `*`: these are names, not patterns). */
const bucketNamePattern = /^[A-Za-z0-9._-]{1,255}$/;
/** Sequencers are hex; ETags are hex with an optional `-<parts>`; kept tight as they enter workflow IDs. */
const tokenPattern = /^[A-Za-z0-9._-]{1,128}$/;

/** Parses a JSON value (already parsed from the body) sent for one connection. */
export function parseS3EventBody(body: unknown, connection: string): S3EventBody {
  if (!isPlainObject(body)) {
    return invalid([
      { path: '', code: 'invalid_type', message: `Expected a JSON object but received ${kindOf(body)}` },
    ]);
  }
  if (body.Event === 's3:TestEvent') return { kind: 'test' };
  if ('Records' in body) return parseRecords(body.Records, connection);
  if ('detail-type' in body || 'detail' in body) return parseEventBridge(body, connection);
  return invalid([
    {
      path: '',
      code: 'unknown_shape',
      message:
        'Expected an S3 notification ("Records"), a MinIO webhook body ("EventName", "Key", "Records"), an EventBridge "Object Created" event or s3:TestEvent',
    },
  ]);
}

/**
 * Undoes S3's form encoding of keys: `+` is a space, then percent escapes as UTF-8. Undefined when the
 * escapes are malformed (a lone `%`, `%zz`, bytes that are not UTF-8).
 */
export function decodeFormEncodedKey(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** `s3:ObjectCreated:Put` → `ObjectCreated:Put`. */
export function normalizeEventName(name: string): string {
  return name.startsWith('s3:') ? name.slice(3) : name;
}

export function isObjectCreated(eventName: string): boolean {
  return /^ObjectCreated:/.test(normalizeEventName(eventName));
}

function parseRecords(records: unknown, connection: string): S3EventBody {
  if (!Array.isArray(records)) {
    return invalid([
      {
        path: '/Records',
        code: 'invalid_type',
        message: `Expected an array for Records but received ${kindOf(records)}`,
      },
    ]);
  }
  if (records.length > MAX_RECORDS_PER_BODY) {
    return {
      kind: 'invalid',
      code: 'too_many_records',
      message: `Expected at most ${MAX_RECORDS_PER_BODY} records in one body but received ${records.length}; nothing was started`,
      issues: [],
    };
  }
  const events: ObjectCreatedEvent[] = [];
  const issues: S3EventIssue[] = [];
  let ignored = 0;
  records.forEach((record: unknown, index) => {
    const at = `/Records/${index}`;
    const found = new Issues(at);
    if (!isPlainObject(record)) {
      issues.push(
        found.add('', 'invalid_type', `Expected an object for the record but received ${kindOf(record)}`),
      );
      return;
    }
    const version = found.text(record, 'eventVersion', 'eventVersion');
    if (version !== undefined && !S3_EVENT_VERSION_PATTERN.test(version)) {
      found.add(
        '/eventVersion',
        'unsupported_event_version',
        `Expected an S3 event version 2.x for eventVersion but received ${JSON.stringify(version.slice(0, 16))}`,
      );
    }
    const eventName = found.text(record, 'eventName', 'eventName');
    if (found.none() && eventName !== undefined && !isObjectCreated(eventName)) {
      ignored += 1;
      return;
    }
    const s3 = found.object(record, 's3', 's3');
    const bucket = s3 && found.object(s3, 'bucket', 's3/bucket');
    const object = s3 && found.object(s3, 'object', 's3/object');
    const bucketName = bucket && found.bucket(bucket, 'name', 's3/bucket/name');
    const rawKey = object && found.text(object, 'key', 's3/object/key', MAX_KEY_BYTES * 3);
    let key: string | undefined;
    if (rawKey !== undefined) {
      key = decodeFormEncodedKey(rawKey);
      if (key === undefined) {
        found.add(
          '/s3/object/key',
          'invalid_key',
          'Expected a form-encoded object key but received malformed percent escapes',
        );
      } else found.checkKey(key, '/s3/object/key');
    }
    const size = object && found.size(object, 'size', 's3/object/size');
    // AWS writes `eTag`; some S3-compatible servers write `etag`.
    const etagField = object && ('eTag' in object ? 'eTag' : 'etag');
    const etag = object && etagField && found.token(object, etagField, `s3/object/${etagField}`, true);
    const sequencer = object && found.token(object, 'sequencer', 's3/object/sequencer', false);
    const versionId = object && found.optionalText(object, 'versionId', 's3/object/versionId');
    const contentType = object && found.optionalText(object, 'contentType', 's3/object/contentType');
    const generated = object && found.generatedMark(object, 'userMetadata', 's3/object/userMetadata');
    const eventTime = found.time(record, 'eventTime', 'eventTime');
    issues.push(...found.list);
    if (found.none() && eventName !== undefined && bucketName !== undefined && key !== undefined) {
      events.push({
        connection,
        bucket: bucketName,
        key,
        eventName: normalizeEventName(eventName),
        ...(size === undefined ? {} : { size }),
        ...(etag ? { etag } : {}),
        ...(sequencer ? { sequencer } : {}),
        ...(contentType ? { contentType } : {}),
        ...(generated === undefined ? {} : { generated }),
        ...(eventTime ? { eventTime } : {}),
        ...(versionId ? { versionId } : {}),
      });
    }
  });
  if (issues.length) return invalid(issues);
  return { kind: 'events', events, ignored };
}

function parseEventBridge(body: Record<string, unknown>, connection: string): S3EventBody {
  const found = new Issues('');
  const source = found.text(body, 'source', 'source');
  if (source !== undefined && source !== 'aws.s3') {
    found.add(
      '/source',
      'invalid_value',
      `Expected "aws.s3" for source but received ${JSON.stringify(source.slice(0, 32))}`,
    );
  }
  const detailType = found.text(body, 'detail-type', 'detail-type');
  const detail = found.object(body, 'detail', 'detail');
  if (!found.none()) return invalid(found.list);
  if (detailType !== 'Object Created') return { kind: 'events', events: [], ignored: 1 };
  const bucket = detail && found.object(detail, 'bucket', 'detail/bucket');
  const object = detail && found.object(detail, 'object', 'detail/object');
  const bucketName = bucket && found.bucket(bucket, 'name', 'detail/bucket/name');
  const key = object && found.text(object, 'key', 'detail/object/key', MAX_KEY_BYTES);
  if (key !== undefined) found.checkKey(key, '/detail/object/key');
  const size = object && found.size(object, 'size', 'detail/object/size');
  const etag = object && found.token(object, 'etag', 'detail/object/etag', true);
  const sequencer = object && found.token(object, 'sequencer', 'detail/object/sequencer', false);
  const versionId = object && found.optionalText(object, 'version-id', 'detail/object/version-id');
  const eventTime = found.time(body, 'time', 'time');
  const reason = detail && found.optionalText(detail, 'reason', 'detail/reason');
  if (!found.none() || bucketName === undefined || key === undefined) return invalid(found.list);
  return {
    kind: 'events',
    ignored: 0,
    events: [
      {
        connection,
        bucket: bucketName,
        key,
        // EventBridge names the API call (`PutObject`); the notification name is the common vocabulary.
        eventName: `ObjectCreated:${reason ?? 'Put'}`,
        ...(size === undefined ? {} : { size }),
        ...(etag ? { etag } : {}),
        ...(sequencer ? { sequencer } : {}),
        ...(eventTime ? { eventTime } : {}),
        ...(versionId ? { versionId } : {}),
      },
    ],
  };
}

function invalid(issues: S3EventIssue[]): S3EventBody {
  const count = issues.length === 1 ? 'one problem' : `${issues.length} problems`;
  return {
    kind: 'invalid',
    code: 'invalid_event',
    message: `The event body was refused with ${count}; nothing was started`,
    // Bounded: a body of a thousand broken records should not answer with a thousand issues.
    issues: issues.slice(0, 50),
  };
}

/** Collects issues for one record while reading its fields, each with a pointer under `base`. */
class Issues {
  readonly list: S3EventIssue[] = [];
  constructor(private readonly base: string) {}

  none(): boolean {
    return this.list.length === 0;
  }

  add(path: string, code: S3EventIssue['code'], message: string): S3EventIssue {
    const issue = { path: `${this.base}${path}`, code, message };
    this.list.push(issue);
    return issue;
  }

  object(holder: Record<string, unknown>, field: string, path: string): Record<string, unknown> | undefined {
    const value = holder[field];
    if (isPlainObject(value)) return value;
    this.add(
      `/${path}`,
      value === undefined ? 'missing_field' : 'invalid_type',
      `Expected an object for ${path} but received ${kindOf(value)}`,
    );
    return undefined;
  }

  text(
    holder: Record<string, unknown>,
    field: string,
    path: string,
    maxLength = MAX_EVENT_TEXT_LENGTH,
  ): string | undefined {
    const value = holder[field];
    if (typeof value === 'string' && value.length > 0 && value.length <= maxLength) return value;
    this.add(
      `/${path}`,
      value === undefined ? 'missing_field' : 'invalid_type',
      `Expected a string of 1 to ${maxLength} characters for ${path} but received ${kindOf(value)}`,
    );
    return undefined;
  }

  optionalText(holder: Record<string, unknown>, field: string, path: string): string | undefined {
    // S3 writes `"versionId": null` for unversioned buckets.
    if (holder[field] === undefined || holder[field] === null) return undefined;
    return this.text(holder, field, path);
  }

  bucket(holder: Record<string, unknown>, field: string, path: string): string | undefined {
    const name = this.text(holder, field, path);
    if (name === undefined) return undefined;
    if (bucketNamePattern.test(name)) return name;
    this.add(
      `/${path}`,
      'invalid_value',
      `Expected a bucket name for ${path} but received ${JSON.stringify(name.slice(0, 64))}`,
    );
    return undefined;
  }

  checkKey(key: string, path: string): void {
    if (key.length === 0 || Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
      this.add(path, 'invalid_key', `Expected an object key of 1 to ${MAX_KEY_BYTES} UTF-8 bytes`);
      // eslint-disable-next-line no-control-regex -- graphs refuse such keys, so refuse them here with a reason
    } else if (/[\u0000-\u001f\u007f]/.test(key)) {
      this.add(path, 'invalid_key', 'Expected an object key without control characters');
    }
  }

  size(holder: Record<string, unknown>, field: string, path: string): number | undefined {
    const value = holder[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
    this.add(
      `/${path}`,
      'invalid_type',
      `Expected a non-negative integer for ${path} but received ${kindOf(value)}`,
    );
    return undefined;
  }

  /** An optional sequencer or ETag; ETags lose their quotes. */
  token(holder: Record<string, unknown>, field: string, path: string, unquote: boolean): string | undefined {
    const value = holder[field];
    if (value === undefined || value === null || value === '') return undefined;
    const text = typeof value === 'string' && unquote ? value.replace(/^"(.*)"$/, '$1') : value;
    if (typeof text === 'string' && tokenPattern.test(text)) return text;
    this.add(
      `/${path}`,
      'invalid_value',
      `Expected up to 128 letters, digits, ".", "_" or "-" for ${path} but received ${kindOf(value)}`,
    );
    return undefined;
  }

  /**
   * Whether the object's user metadata, when the record reports it (MinIO's `userMetadata`: every user
   * metadata entry of the object, names as sent, `X-Amz-Meta-` included), marks a pixelshift output;
   * undefined when the record reports none (AWS never does), so that only a HEAD can tell.
   */
  generatedMark(holder: Record<string, unknown>, field: string, path: string): boolean | undefined {
    const value = holder[field];
    if (value === undefined || value === null) return undefined;
    const entries = isPlainObject(value) ? Object.entries(value) : undefined;
    if (entries === undefined || entries.length > MAX_USER_METADATA_ENTRIES) {
      this.add(
        `/${path}`,
        entries === undefined ? 'invalid_type' : 'invalid_value',
        `Expected an object of at most ${MAX_USER_METADATA_ENTRIES} names and string values for ${path} but received ${entries === undefined ? kindOf(value) : `${entries.length} names`}`,
      );
      return undefined;
    }
    // No prototype: a name such as `__proto__` (any JSON may carry one) is just another entry.
    const metadata = Object.create(null) as Record<string, string>;
    for (const [name, text] of entries) {
      if (
        typeof text !== 'string' ||
        name.length > MAX_USER_METADATA_TEXT_LENGTH ||
        text.length > MAX_USER_METADATA_TEXT_LENGTH
      ) {
        this.add(
          `/${path}`,
          'invalid_value',
          `Expected names and string values of at most ${MAX_USER_METADATA_TEXT_LENGTH} characters for ${path} but received ${kindOf(text)} for ${kindOf(name)}`,
        );
        return undefined;
      }
      metadata[name.toLowerCase().replace(/^x-amz-meta-/, '')] = text;
    }
    return isGeneratedObject({ metadata });
  }

  time(holder: Record<string, unknown>, field: string, path: string): string | undefined {
    const value = holder[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string' && value.length <= 64 && !Number.isNaN(Date.parse(value))) return value;
    this.add(
      `/${path}`,
      'invalid_value',
      `Expected an ISO 8601 time for ${path} but received ${kindOf(value)}`,
    );
    return undefined;
  }
}

/** Names what was received without echoing much of it (bodies come from outside). */
function kindOf(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string')
    return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
}
