/**
 * HTTP shapes of upload rules (`/v1/rules`). The routes validate with these (the template with the graph
 * validator) and the OpenAPI document is generated from them.
 */
import { z } from 'zod';
import { connectionNameSchema } from '../../core/graph/units.js';
import { singleLinePattern } from '../../core/text-patterns.js';
import { graphTemplateSchema } from '../../core/triggers/graph-template.js';

/** `image/jpeg`, or `image/*` for every image type; parameters (`; charset=…`) are not part of it. */
const mediaTypeSchema = z
  .string()
  .max(255)
  .regex(
    /^[A-Za-z0-9!#$&^_.+-]+\/(?:[A-Za-z0-9!#$&^_.+-]+|\*)$/,
    'Expected a media type such as image/jpeg or image/*',
  );

const byteCount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const ruleRequestSchema = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(200)
      .regex(singleLinePattern)
      .optional()
      .describe('A label for people; not unique.'),
    connection: connectionNameSchema
      .optional()
      .describe('Storage connection of the watched bucket; "default" when omitted.'),
    bucket: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,255}$/, 'Expected a bucket name')
      .describe('The watched bucket (a name, not a pattern); it must be granted to the account.'),
    prefix: z
      .string()
      .max(1024)
      .regex(singleLinePattern)
      .optional()
      .describe('Only keys that start with this (e.g. "uploads/").'),
    suffix: z
      .string()
      .max(1024)
      .regex(singleLinePattern)
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
    // A described copy of the template schema would be documented inline instead of as the component.
    template: graphTemplateSchema,
  })
  .meta({
    id: 'RuleRequest',
    description:
      '`template` is the graph to run, without its StorageSource (the uploaded object is the source), judged by the graph validator like a submitted graph. Sink `key` may use {key} {dir} {name} {ext} {bucket}, sink `bucket` only {bucket}; sinks without `storage` write to the rule’s connection. Beyond this schema the server requires `minSize` at most `maxSize`, a `connection` it has configured, buckets granted to the account, and sinks that cannot trigger the rule again.',
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
    template: graphTemplateSchema,
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Rule' });
export type RuleResponse = z.infer<typeof ruleResponseSchema>;

export const ruleListSchema = z.strictObject({ rules: z.array(ruleResponseSchema) }).meta({ id: 'RuleList' });
