/**
 * The seam between the feeders (SNS ingress, SQS poller) and the S3 event body parser: a feeder only
 * unwraps its transport and hands the bucket notification JSON to a parser, which says whether it was
 * S3's test event, ObjectCreated events, or nothing it understands.
 */
import { parseS3EventBody } from './s3-event-records.js';
import type { ObjectCreatedEvent } from './trigger-types.js';

export type ParsedEventBody =
  /** `s3:TestEvent`, sent when notifications are configured: acknowledged, nothing started. */
  | { kind: 'test' }
  | { kind: 'events'; events: ObjectCreatedEvent[] }
  /** Not a bucket notification; `reason` is safe to show to the sender. */
  | { kind: 'invalid'; reason: string };

/** Turns one notification body (already JSON-parsed) of `connection` into events. Pure, never throws. */
export type EventBodyParser = (body: unknown, connection: string) => ParsedEventBody;

/** The real parser (AWS Records 2.x, MinIO, EventBridge, `s3:TestEvent`) behind the feeders' seam. */
export const parseBucketNotification: EventBodyParser = (body, connection) => {
  const parsed = parseS3EventBody(body, connection);
  switch (parsed.kind) {
    case 'invalid':
      return { kind: 'invalid', reason: parsed.message };
    case 'test':
      return { kind: 'test' };
    case 'events':
      return { kind: 'events', events: parsed.events };
  }
};
