/**
 * Request and response shapes of inbound hooks (`/v1/hooks`), named as components of the document.
 * Templates are documented as Graph Templates; the server judges them with the graph-template
 * validator (`parseHookCreation` in inbound-hooks.service.ts), which walks hostile nesting safely and
 * points its issues into the template.
 */
import { z } from 'zod';
import { singleLinePattern } from '../../core/text-patterns.js';
import { graphTemplateSchema } from '../../core/triggers/graph-template.js';
import { hookMappingSchema } from '../../core/triggers/inbound-hook-mapping.js';
import { webhookTimestampPattern } from '../../core/triggers/inbound-hook-signature.js';

/** Largest trigger body: event notifications are small, and the whole body is read before verifying. */
export const HOOK_MAX_BODY_BYTES = 256 * 1024;

/** Standard Webhooks ids are short printable strings; this one ends up in a workflow ID. */
const webhookIdPattern = /^[\x21-\x7e]{1,256}$/;

const hookMapping = hookMappingSchema.meta({ id: 'HookMapping' });
const hookName = z
  .string()
  .min(1)
  .max(100)
  .regex(singleLinePattern)
  .describe('A note for humans, e.g. "CMS uploads".');

const templateRules =
  '`template` is a Graph Template: a Transform Graph without its StorageSource (the triggering object becomes the source) whose sink `key` may use {key} {dir} {name} {ext} {bucket} and sink `bucket` only {bucket}. Beyond its schema it is checked by the graph validator, filled for a sample source: the order of units (operations, then an ImageFormat and a StorageSink), the sinks per graph, per-format options and pixel limits. Its problems are `invalid_graph` issues under `/template`.';

export const createHookRequestSchema = z
  .strictObject({
    name: hookName,
    mapping: hookMapping,
    template: graphTemplateSchema,
    enabled: z.boolean().optional().describe('True when omitted.'),
  })
  .meta({ id: 'CreateHookRequest', description: templateRules });
export type CreateHookRequest = z.output<typeof createHookRequestSchema>;

const hookChanges = z.strictObject({
  name: hookName.optional(),
  mapping: hookMapping.optional(),
  template: graphTemplateSchema.optional(),
  enabled: z.boolean().optional(),
});
const someChange = [
  (body: object) => Object.keys(body).length > 0,
  { message: 'at least one field to change' },
] as const;

export const updateHookRequestSchema = hookChanges
  .refine(...someChange)
  .meta({ id: 'UpdateHookRequest', minProperties: 1, description: templateRules });
export type UpdateHookRequest = z.output<typeof updateHookRequestSchema>;

/**
 * The request schemas with the template left to the graph-template validator: zod checks every other
 * field (and that a template is there), the validator the template itself.
 */
export const createHookFieldsSchema = createHookRequestSchema.extend({ template: z.unknown() });
export const updateHookFieldsSchema = hookChanges
  .extend({ template: z.unknown().optional() })
  .refine(...someChange);

export const hookSchema = z
  .strictObject({
    hookId: z.string().describe('hook_ + 32 characters; the trigger URL contains it.'),
    name: z.string(),
    enabled: z.boolean(),
    mapping: hookMapping,
    template: graphTemplateSchema,
    triggerUrl: z.string().describe('Where the other system POSTs its signed requests.'),
    previousSecretExpiresAt: z.iso
      .datetime()
      .nullable()
      .describe('Until then the secret before the last rotation is still accepted.'),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Hook' });
export type HookResponse = z.infer<typeof hookSchema>;

export const hookListSchema = z.strictObject({ hooks: z.array(hookSchema) }).meta({ id: 'HookList' });

export const createdHookSchema = hookSchema
  .extend({
    secret: z
      .string()
      .describe('The signing secret (whsec_…), shown in this response only. Sign requests with it.'),
  })
  .meta({ id: 'CreatedHook' });
export type CreatedHookResponse = z.infer<typeof createdHookSchema>;

export const rotatedHookSecretSchema = z
  .strictObject({
    hookId: z.string(),
    secret: z.string().describe('The new signing secret, shown in this response only.'),
    previousSecretExpiresAt: z.iso
      .datetime()
      .describe('The old secret is accepted too until then (24 hours), so senders can switch over.'),
  })
  .meta({ id: 'RotatedHookSecret' });
export type RotatedHookSecretResponse = z.infer<typeof rotatedHookSecretSchema>;

/**
 * The Standard Webhooks headers of a trigger. Their presence and the timestamp's window are checked
 * before the body is read (a failure is 401 `invalid_signature`); the id's form is checked here.
 */
export const hookTriggerHeadersSchema = z.object({
  'webhook-id': z
    .string()
    .regex(webhookIdPattern)
    .describe(
      'Unique per message: 1–256 visible ASCII characters (no spaces); the same id is the same message.',
    ),
  'webhook-timestamp': z
    .string()
    .regex(webhookTimestampPattern)
    .describe('Unix time in seconds when the message was sent; within 5 minutes of the server’s clock.'),
  'webhook-signature': z
    .string()
    .min(1)
    .describe('`v1,<base64>`; several space-separated signatures are allowed (one must match).'),
});

export const hookTriggerBodySchema = z
  .record(z.string(), z.unknown())
  .describe(
    'The sender’s event, a JSON object; the hook’s mapping takes the source bucket and key from it (a missing or unusable value is a 422 naming its pointer).',
  );

export const hookTriggerResponseSchema = z
  .strictObject({
    runId: z.string().describe('The run’s id in /v1/runs/{runId} (the URL-encoded workflow ID).'),
    workflowId: z.string().describe('hook/<accountId>/<hookId>/<webhook-id>'),
    statusUrl: z.string().describe('GET it (with an access token) for the run’s outcome.'),
    duplicate: z
      .boolean()
      .describe('True when this webhook-id was accepted before: nothing new was started.'),
    temporalUiUrl: z.string().optional(),
  })
  .meta({ id: 'HookTriggerResponse' });
export type HookTriggerResponse = z.infer<typeof hookTriggerResponseSchema>;
