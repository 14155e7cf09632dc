/**
 * HTTP shapes of the bucket event ingress (`POST /v1/events/s3`): the body as the document shows it and
 * the answers. The body itself is judged by the parser (src/core/triggers/s3-event-records.ts).
 */
import { z } from 'zod';

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

/** What the OpenAPI document shows for the body: the three shapes, loosely (the parser is the judge). */
export const s3EventBodySchema = z
  .object({
    Records: z.array(z.record(z.string(), z.unknown())).optional(),
    EventName: z.string().optional(),
    Key: z.string().optional(),
    'detail-type': z.string().optional(),
    source: z.string().optional(),
    detail: z.record(z.string(), z.unknown()).optional(),
    Event: z.string().optional(),
  })
  .describe(
    'An S3 notification (`Records`, event version 2.x, form-encoded keys), a MinIO webhook body (`EventName`, `Key`, `Records`), an EventBridge `Object Created` event, or S3’s `s3:TestEvent`.',
  );
