/**
 * Request and response shapes of inbound hooks (`/v1/hooks`). Templates are checked with the graph
 * template validator (issues by pointer), so the request schemas take them as unknown; the documented
 * shape (openapi-hooks.ts) refers to the TransformGraph component instead.
 */
import { z } from 'zod';
import { hookMappingSchema } from '../../core/triggers/inbound-hook-mapping.js';

const hookName = z.string().min(1).max(100).describe('A note for humans, e.g. "CMS uploads".');

export const createHookRequestSchema = z.strictObject({
  name: hookName,
  mapping: hookMappingSchema,
  template: z.unknown().describe('A graph template: a Transform Graph without its StorageSource.'),
  enabled: z.boolean().optional().describe('True when omitted.'),
});

export const updateHookFieldsSchema = z.strictObject({
  name: hookName.optional(),
  mapping: hookMappingSchema.optional(),
  template: z.unknown().optional(),
  enabled: z.boolean().optional(),
});

export const updateHookRequestSchema = updateHookFieldsSchema.refine((body) => Object.keys(body).length > 0, {
  message: 'at least one field to change',
});

export const hookSchema = z.strictObject({
  hookId: z.string().describe('hook_ + 32 characters; the trigger URL contains it.'),
  name: z.string(),
  enabled: z.boolean(),
  mapping: hookMappingSchema,
  template: z.unknown(),
  triggerUrl: z.string().describe('Where the other system POSTs its signed requests.'),
  previousSecretExpiresAt: z.iso
    .datetime()
    .nullable()
    .describe('Until then the secret before the last rotation is still accepted.'),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type HookResponse = z.infer<typeof hookSchema>;

export const hookListSchema = z.strictObject({ hooks: z.array(hookSchema) });

export const createdHookSchema = hookSchema.extend({
  secret: z
    .string()
    .describe('The signing secret (whsec_…), shown in this response only. Sign requests with it.'),
});
export type CreatedHookResponse = z.infer<typeof createdHookSchema>;

export const rotatedHookSecretSchema = z.strictObject({
  hookId: z.string(),
  secret: z.string().describe('The new signing secret, shown in this response only.'),
  previousSecretExpiresAt: z.iso
    .datetime()
    .describe('The old secret is accepted too until then (24 hours), so senders can switch over.'),
});
export type RotatedHookSecretResponse = z.infer<typeof rotatedHookSecretSchema>;

export const hookTriggerResponseSchema = z.strictObject({
  runId: z.string().describe('The run’s id in /v1/runs/{runId} (the URL-encoded workflow ID).'),
  workflowId: z.string().describe('hook/<accountId>/<hookId>/<webhook-id>'),
  statusUrl: z.string().describe('GET it (with an access token) for the run’s outcome.'),
  duplicate: z.boolean().describe('True when this webhook-id was accepted before: nothing new was started.'),
  temporalUiUrl: z.string().optional(),
});
export type HookTriggerResponse = z.infer<typeof hookTriggerResponseSchema>;
