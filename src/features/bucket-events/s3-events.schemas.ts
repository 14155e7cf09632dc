/**
 * HTTP shapes of the bucket event ingress (`POST /v1/events/s3`): the body as the document shows it and
 * the answers. The body itself is judged by the parser (src/core/triggers/s3-event-records.ts).
 */
import { z } from 'zod';
import {
  MAX_EVENT_TEXT_LENGTH,
  MAX_RECORDS_PER_BODY,
  S3_EVENT_VERSION_PATTERN,
} from '../../core/triggers/s3-event-records.js';

const eventText = z.string().min(1).max(MAX_EVENT_TEXT_LENGTH);

/** What every record needs; the rest is read only from ObjectCreated records (see the description). */
const eventRecordSchema = z
  .object({
    eventVersion: z.string().regex(S3_EVENT_VERSION_PATTERN).describe('2.x; other versions are refused.'),
    eventName: eventText.describe(
      '`ObjectCreated:*` (MinIO: `s3:ObjectCreated:*`) starts runs; records of other kinds are ignored.',
    ),
  })
  .describe(
    'An ObjectCreated record also needs `s3.bucket.name` (a bucket name) and `s3.object.key` (form-encoded: `+` is a space, then percent escapes; 1 to 1024 UTF-8 bytes without control characters); `s3.object.size` (a non-negative integer), `eTag`, `sequencer` (up to 128 letters, digits, `.`, `_`, `-`), `versionId`, `contentType`, `eventTime` (ISO 8601) and `userMetadata` (MinIO: an object of at most 256 names with string values) are checked when present. A record is matched without a HEAD of its object unless it names a `versionId` or a rule it matches by name filters on something the record lacks (`contentType` on AWS records); pixelshift’s own outputs never trigger rules: a record’s `userMetadata` shows them, and every run checks the object it reads, ending `superseded` on an output.',
  )
  // Named components rather than inline objects inside the union: openapi-python-client names nested
  // inline objects of a union's members twice and drops them (docs/clients.md).
  .meta({ id: 'S3EventRecord' });

/** What the OpenAPI document shows for the body; the parser is the judge of what it describes in words. */
export const s3EventBodySchema = z
  .union([
    z
      .object({ Records: z.array(eventRecordSchema).max(MAX_RECORDS_PER_BODY) })
      .describe('An S3 notification, or a MinIO webhook body (its `EventName` and `Key` are not read).')
      .meta({ id: 'S3NotificationBody' }),
    z
      .object({
        source: z.literal('aws.s3'),
        'detail-type': eventText.describe('`Object Created` starts runs; other detail types are ignored.'),
        detail: z.record(z.string(), z.unknown()),
      })
      .describe(
        'An EventBridge event. For `Object Created`, `detail.bucket.name` and `detail.object.key` (the plain key) are required, as in S3 notifications, and `time` is checked when present.',
      )
      .meta({ id: 'EventBridgeS3Event' }),
    z
      .object({ Event: z.literal('s3:TestEvent') })
      .describe('S3’s TestEvent, sent when notifications are set up.')
      .meta({ id: 'S3TestEvent' }),
  ])
  .meta({
    id: 'S3EventBody',
    description:
      'An S3 notification (`Records`, event version 2.x, form-encoded keys), a MinIO webhook body (`EventName`, `Key`, `Records`), an EventBridge `Object Created` event, or S3’s `s3:TestEvent`.',
  });

export const s3EventResultSchema = z
  .strictObject({
    events: z.number().int().describe('ObjectCreated events in the body.'),
    ignored: z.number().int().describe('Records of other kinds (ObjectRemoved, restores, …), ignored.'),
    started: z.number().int().describe('Rule matches that started a new run.'),
    duplicates: z.number().int().describe('Rule matches whose run already existed (a redelivered event).'),
    unmatched: z
      .number()
      .int()
      .describe('Events no enabled rule matched, including pixelshift’s own outputs.'),
    skipped: z.number().int().describe('Matched events whose object was gone or unreadable.'),
    invalid: z
      .number()
      .int()
      .describe('Matched events without a sequencer, ETag or time to identify the upload.'),
    runs: z
      .array(z.strictObject({ workflowId: z.string(), statusUrl: z.string() }))
      .describe('The runs started or found, with their status URLs.'),
  })
  .meta({ id: 'S3EventResult' });
export type S3EventResult = z.infer<typeof s3EventResultSchema>;

export const s3TestEventResultSchema = z
  .strictObject({
    test: z.literal(true).describe('The body was S3’s TestEvent: acknowledged, nothing started.'),
  })
  .meta({ id: 'S3TestEventResult' });
