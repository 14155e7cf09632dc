/**
 * HTTP shapes of upload rules, bucket event ingress and triggered runs (DESIGN §8, §10). Request bodies and
 * queries are validated with these; the OpenAPI document is generated from them (openapi-rules.ts).
 */
import { z } from 'zod';
import { transformGraphSchema } from '../../core/graph/graph.js';
import { connectionNameSchema } from '../../core/graph/units.js';
import { graphStates } from '../../core/jobs/job-status.js';
import { graphOutcomeSchema } from '../../api/schemas.js';

/** `image/jpeg`, or `image/*` for every image type; parameters (`; charset=…`) are not part of it. */
const mediaTypeSchema = z
  .string()
  .max(255)
  .regex(
    /^[A-Za-z0-9!#$&^_.+-]+\/(?:[A-Za-z0-9!#$&^_.+-]+|\*)$/,
    'Expected a media type such as image/jpeg or image/*',
  );

const byteCount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

// ------------------------------------------------------------------ rules

export const ruleRequestSchema = z
  .strictObject({
    name: z.string().min(1).max(200).optional().describe('A label for people; not unique.'),
    connection: connectionNameSchema
      .optional()
      .describe('Storage connection of the watched bucket; "default" when omitted.'),
    bucket: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,255}$/, 'Expected a bucket name')
      .describe('The watched bucket (a name, not a pattern); it must be granted to the account.'),
    prefix: z.string().max(1024).optional().describe('Only keys that start with this (e.g. "uploads/").'),
    suffix: z
      .string()
      .max(1024)
      .optional()
      .describe('Only keys that end with this (e.g. ".jpg"); case counts.'),
    contentTypes: z
      .array(mediaTypeSchema)
      .max(32)
      .optional()
      .describe('Only objects of these media types (parameters ignored; `image/*` allowed). Any when empty.'),
    minSize: byteCount.optional().describe('Only objects of at least this many bytes.'),
    maxSize: byteCount.optional().describe('Only objects of at most this many bytes.'),
    enabled: z
      .boolean()
      .optional()
      .describe('Disabled rules keep their settings but start nothing; true when omitted.'),
    // A described copy of the graph schema would be documented inline instead of as the component.
    template: transformGraphSchema,
  })
  .meta({
    id: 'RuleRequest',
    description:
      '`template` is the graph to run, without its StorageSource (the uploaded object is the source). Sink `key` (and `bucket`) may use {key} {dir} {name} {ext} {bucket}; sinks without `storage` write to the rule’s connection.',
  });
export type RuleRequest = z.infer<typeof ruleRequestSchema>;

export const ruleResponseSchema = z
  .strictObject({
    ruleId: z.string(),
    name: z.string().nullable(),
    connection: z.string(),
    bucket: z.string(),
    prefix: z.string(),
    suffix: z.string(),
    contentTypes: z.array(z.string()),
    minSize: z.number().int().nullable(),
    maxSize: z.number().int().nullable(),
    enabled: z.boolean(),
    template: transformGraphSchema,
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Rule' });
export type RuleResponse = z.infer<typeof ruleResponseSchema>;

export const ruleListSchema = z.strictObject({ rules: z.array(ruleResponseSchema) }).meta({ id: 'RuleList' });

// ------------------------------------------------------------------ bucket events

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
  )
  .meta({ id: 'S3EventBody' });

// ------------------------------------------------------------------ triggered runs

export const runListQuerySchema = z.strictObject({
  rule: z.string().min(1).max(64).optional().describe('Only runs of this rule.'),
  state: z.enum(graphStates).optional(),
  since: z.iso.datetime({ offset: true }).optional().describe('Only runs started at or after this time.'),
  until: z.iso.datetime({ offset: true }).optional().describe('Only runs started before this time.'),
  pageSize: z.coerce.number().int().min(1).max(100).default(50),
  pageToken: z.string().min(1).max(4096).optional().describe('`nextPageToken` of the previous page.'),
});

export const runSummarySchema = z
  .strictObject({
    runId: z
      .string()
      .describe('`encodeURIComponent(workflowId)`: the path segment of `GET /v1/runs/{runId}`.'),
    workflowId: z.string(),
    ruleId: z.string(),
    source: z.string().describe('`bucket/key` of the object that triggered the run.'),
    state: z.enum(graphStates),
    startedAt: z.string(),
    closedAt: z.string().optional(),
    statusUrl: z.string(),
    temporalUiUrl: z.string().optional(),
  })
  .meta({ id: 'RunSummary' });

export const runListSchema = z
  .strictObject({
    runs: z.array(runSummarySchema),
    nextPageToken: z.string().optional(),
  })
  .meta({ id: 'RunList' });
export type RunListResponse = z.infer<typeof runListSchema>;

export const runResponseSchema = graphOutcomeSchema
  .extend({
    runId: z.string(),
    statusUrl: z.string(),
  })
  .meta({ id: 'Run' });
export type RunResponse = z.infer<typeof runResponseSchema>;
