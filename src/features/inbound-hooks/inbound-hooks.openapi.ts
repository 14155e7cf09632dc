/**
 * OpenAPI registrations of inbound hooks: `/v1/hooks` management (account token) and the trigger
 * endpoint, whose only credential is the Standard Webhooks signature.
 */
import {
  zodToOpenAPIRegistry,
  type OpenAPIRegistry,
  type ResponseConfig,
} from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { transformGraphSchema } from '../../core/graph/graph.js';
import { hookMappingSchema } from '../../core/triggers/inbound-hook-mapping.js';
import { HOOK_MAX_BODY_BYTES } from './inbound-hooks.routes.js';
import { errorResponseSchema } from '../../api/schemas.js';
import {
  createdHookSchema,
  createHookRequestSchema,
  hookListSchema,
  hookSchema,
  hookTriggerResponseSchema,
  rotatedHookSecretSchema,
  updateHookFieldsSchema,
} from './inbound-hooks.schemas.js';

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });
const error = (description: string): ResponseConfig => ({ description, content: json(errorResponseSchema) });

const unauthorized = error('Missing, expired, forged or revoked access token (`unauthorized`).');
const bodyErrors = {
  400: error('Malformed JSON (`invalid_json`).'),
  413: error('Body larger than the configured limit (`payload_too_large`).'),
  415: error('Body is not application/json (`unsupported_media_type`).'),
};
const hookIdParam = z.object({ hookId: z.string().describe('Hook id, e.g. hook_…') });
const notFound = error('No such hook for this account (`not_found`).');

/**
 * Names a schema as a component, the way openapi.ts does for its own (zod is not extended with
 * `.openapi()` here, so the name goes into the generator's metadata registry).
 */
function named<T extends z.ZodType>(schema: T, refId: string): T {
  zodToOpenAPIRegistry.add(schema, { ...zodToOpenAPIRegistry.get(schema), _internal: { refId } });
  return schema;
}

// The documented shapes show templates as Transform Graphs; requests are checked by the template validator.
const template = transformGraphSchema;
named(hookMappingSchema, 'HookMapping');
const hook = named(hookSchema.extend({ template }), 'Hook');
const created = named(createdHookSchema.extend({ template }), 'CreatedHook');
const list = named(hookListSchema.extend({ hooks: z.array(hook) }), 'HookList');
const createRequest = named(createHookRequestSchema.extend({ template }), 'CreateHookRequest');
const updateRequest = named(
  updateHookFieldsSchema.extend({ template: template.optional() }),
  'UpdateHookRequest',
);
const rotated = named(rotatedHookSecretSchema, 'RotatedHookSecret');
const triggered = named(hookTriggerResponseSchema, 'HookTriggerResponse');

export function registerHookPaths(registry: OpenAPIRegistry): void {
  registry.registerComponent('securitySchemes', 'hookSignature', {
    type: 'apiKey',
    in: 'header',
    name: 'webhook-signature',
    description:
      'Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256>` of `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the base64 part of the hook’s `whsec_` secret; `webhook-id` and `webhook-timestamp` are required too.',
  });

  registry.registerPath({
    method: 'get',
    path: '/v1/hooks',
    operationId: 'listHooks',
    tags: ['hooks'],
    summary: 'The account’s inbound hooks (never their secrets)',
    responses: { 200: { description: 'All hooks.', content: json(list) }, 401: unauthorized },
  });
  registry.registerPath({
    method: 'post',
    path: '/v1/hooks',
    operationId: 'createHook',
    tags: ['hooks'],
    summary: 'Create an inbound hook; its signing secret is shown in this response only',
    description:
      'The mapping says where the source image is named in the sender’s JSON body (JSON pointers, RFC 6901) and on which connection; the template is the graph to run on it, without its StorageSource, with sink keys such as `thumbs/{dir}/{name}.webp`.',
    request: { body: { required: true, content: json(createRequest) } },
    responses: {
      201: { description: 'The hook, its secret and its trigger URL.', content: json(created) },
      ...bodyErrors,
      401: unauthorized,
      403: error('A fixed bucket is not granted to the account (`access_denied`).'),
      422: error(
        'Invalid body or unknown connection (`invalid_body`), or invalid template (`invalid_graph`, issues under `/template`).',
      ),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/hooks/{hookId}',
    operationId: 'getHook',
    tags: ['hooks'],
    summary: 'One inbound hook',
    request: { params: hookIdParam },
    responses: { 200: { description: 'The hook.', content: json(hook) }, 401: unauthorized, 404: notFound },
  });
  registry.registerPath({
    method: 'patch',
    path: '/v1/hooks/{hookId}',
    operationId: 'updateHook',
    tags: ['hooks'],
    summary: 'Change a hook’s name, mapping, template or enabled flag',
    request: { params: hookIdParam, body: { required: true, content: json(updateRequest) } },
    responses: {
      200: { description: 'The changed hook.', content: json(hook) },
      ...bodyErrors,
      401: unauthorized,
      403: error('A fixed bucket is not granted to the account (`access_denied`).'),
      404: notFound,
      422: error('Invalid change (`invalid_body`) or template (`invalid_graph`).'),
    },
  });
  registry.registerPath({
    method: 'delete',
    path: '/v1/hooks/{hookId}',
    operationId: 'deleteHook',
    tags: ['hooks'],
    summary: 'Delete a hook; its trigger URL answers 404 from then on',
    request: { params: hookIdParam },
    responses: { 204: { description: 'Deleted.' }, 401: unauthorized, 404: notFound },
  });
  registry.registerPath({
    method: 'post',
    path: '/v1/hooks/{hookId}/rotate-secret',
    operationId: 'rotateHookSecret',
    tags: ['hooks'],
    summary: 'A new signing secret; the old one is still accepted for 24 hours',
    request: { params: hookIdParam },
    responses: {
      200: { description: 'The new secret, shown in this response only.', content: json(rotated) },
      401: unauthorized,
      404: notFound,
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/v1/hooks/{hookId}',
    operationId: 'triggerHook',
    tags: ['hooks'],
    summary: 'Start a graph run from another system’s signed request (Standard Webhooks)',
    description: [
      'No access token: the signature over the raw body is the credential. The request must be signed with the hook’s secret, carry a `webhook-timestamp` within 5 minutes of the server’s clock, and its `webhook-id` deduplicates: the same id again answers 202 with `duplicate: true` and the same run, and starts nothing.',
      `The body (any media type, UTF-8 JSON, at most ${HOOK_MAX_BODY_BYTES} bytes) is parsed only after the signature holds; the hook’s mapping then takes the source bucket and key from it.`,
      'The run is a graph workflow with `PixelshiftTrigger=webhook`; follow `statusUrl` (with an access token of the hook’s account) for its outcome.',
    ].join('\n\n'),
    security: [{ hookSignature: [] }],
    request: {
      params: hookIdParam,
      headers: z.object({
        'webhook-id': z
          .string()
          .min(1)
          .max(256)
          .describe('Unique per message (1–256 visible ASCII characters); the same id is the same message.'),
        'webhook-timestamp': z
          .string()
          .regex(/^\d+$/)
          .describe('Unix time in seconds when the message was sent.'),
        'webhook-signature': z
          .string()
          .describe('`v1,<base64>`; several space-separated signatures are allowed (one must match).'),
      }),
      body: { required: true, content: { 'application/json': { schema: z.unknown() } } },
    },
    responses: {
      202: {
        description: 'Started, or already started by this webhook-id (`duplicate: true`).',
        content: json(triggered),
      },
      400: error(
        'Body not UTF-8 JSON (`invalid_json`), or webhook-id longer than 256 characters or not visible ASCII (`invalid_request`).',
      ),
      401: error(
        'Missing signature header, stale or future timestamp, or no matching signature (`invalid_signature`); nothing started.',
      ),
      403: error('The mapped bucket is not granted to the hook’s account (`access_denied`).'),
      404: error('No enabled hook has this id (`hook_not_found`).'),
      413: error(`Body larger than ${HOOK_MAX_BODY_BYTES} bytes (\`payload_too_large\`).`),
      422: error(
        'The body lacks a string at a mapped pointer, or its bucket or key is not acceptable (`invalid_hook_payload`, issue path = the pointer).',
      ),
      503: error(
        'The job engine could not start the run (`orchestrator_unavailable`); nothing recorded, retry the same message.',
      ),
    },
  });
}
