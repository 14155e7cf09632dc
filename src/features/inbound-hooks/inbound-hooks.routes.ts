/**
 * `/v1/hooks`: inbound hooks managed with an account's access token, and `POST /v1/hooks/{hookId}`,
 * where another system starts a graph run with a Standard Webhooks request (its signature over the raw
 * body is the only credential).
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import type { SecretsKey } from '../../core/auth/secret-box.js';
import type { Config } from '../../core/config.js';
import type { TriggeredRuns, WorkflowLinks } from '../../core/jobs/orchestrator-ports.js';
import type { Db } from '../../db/database.js';
import { defineRoute, noContent, noStore, ok, reply, type ApiFeature } from '../../api/define-route.js';
import { errorResponse } from '../../api/openapi-builder.js';
import {
  createdHookSchema,
  createHookRequestSchema,
  HOOK_MAX_BODY_BYTES,
  hookListSchema,
  hookSchema,
  hookTriggerBodySchema,
  hookTriggerHeadersSchema,
  hookTriggerResponseSchema,
  rotatedHookSecretSchema,
  updateHookRequestSchema,
} from './inbound-hooks.schemas.js';
import {
  changeHook,
  createHook,
  getAccountHook,
  listAccountHooks,
  parseHookChange,
  parseHookCreation,
  removeHook,
  rotateHookSecret,
} from './inbound-hooks.service.js';
import { authenticateHookRequest, triggerHook } from './trigger-inbound-hook.js';
import type { TriggerEventMetrics } from '../bucket-events/event-metrics.js';

export interface HookRouteDeps {
  db: Db;
  orchestrator: Pick<TriggeredRuns, 'startGraphRun'> & WorkflowLinks;
  config: Config;
  /** Opens sealed hook secrets (loaded on first use). */
  secretsKey: () => Promise<SecretsKey>;
  logger?: Logger | undefined;
  /** Counts hook requests as trigger events (source `hook`). */
  events?: TriggerEventMetrics | undefined;
}

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });

const hookIdParam = z.object({ hookId: z.string().describe('Hook id, e.g. hook_…') });
const noSuchHook = errorResponse('No such hook for this account (`not_found`).');
const bucketNotGranted = errorResponse('A fixed bucket is not granted to the account (`access_denied`).');

export function inboundHooksFeature(deps: HookRouteDeps): ApiFeature {
  return {
    tags: [
      { name: 'hooks', description: 'Inbound hooks: other systems start graph runs with signed requests' },
    ],
    routes: [
      defineRoute({
        operationId: 'listHooks',
        method: 'get',
        path: '/v1/hooks',
        tags: ['hooks'],
        auth: 'bearer',
        summary: 'The account’s inbound hooks (never their secrets)',
        responses: { 200: { description: 'All hooks.', content: json(hookListSchema) } },
        handler: async ({ principal }) => ok(await listAccountHooks(deps, principal.accountId)),
      }),
      defineRoute({
        operationId: 'createHook',
        method: 'post',
        path: '/v1/hooks',
        tags: ['hooks'],
        auth: 'bearer',
        summary: 'Create an inbound hook; its signing secret is shown in this response only',
        description:
          'The mapping says where the source image is named in the sender’s JSON body (JSON pointers, RFC 6901) and on which connection; the template is the graph to run on it, without its StorageSource, with sink keys such as `thumbs/{dir}/{name}.webp`.',
        request: {
          body: {
            schema: createHookRequestSchema,
            contentType: 'application/json',
            parse: (body) => parseHookCreation(deps.config, body),
          },
        },
        responses: {
          201: {
            description: 'The hook, its secret and its trigger URL (also in `Location`).',
            content: json(createdHookSchema),
          },
          403: bucketNotGranted,
          422: errorResponse(
            'Invalid body or unknown connection (`invalid_body`), or invalid template (`invalid_graph`, issues under `/template`).',
          ),
        },
        handler: async ({ body, principal }) => {
          const created = await createHook(deps, principal.accountId, body);
          // The secret is in this response and nowhere else: keep it out of every cache.
          return reply(201, created, { ...noStore, Location: created.triggerUrl });
        },
      }),
      defineRoute({
        operationId: 'getHook',
        method: 'get',
        path: '/v1/hooks/{hookId}',
        tags: ['hooks'],
        auth: 'bearer',
        summary: 'One inbound hook',
        request: { params: hookIdParam },
        responses: { 200: { description: 'The hook.', content: json(hookSchema) }, 404: noSuchHook },
        handler: async ({ params, principal }) =>
          ok(await getAccountHook(deps, principal.accountId, params.hookId)),
      }),
      defineRoute({
        operationId: 'updateHook',
        method: 'patch',
        path: '/v1/hooks/{hookId}',
        tags: ['hooks'],
        auth: 'bearer',
        summary: 'Change a hook’s name, mapping, template or enabled flag',
        request: {
          params: hookIdParam,
          body: {
            schema: updateHookRequestSchema,
            contentType: 'application/json',
            parse: (body) => parseHookChange(deps.config, body),
          },
        },
        responses: {
          200: { description: 'The changed hook.', content: json(hookSchema) },
          403: bucketNotGranted,
          404: noSuchHook,
          422: errorResponse(
            'Invalid change: no field, an unknown field or connection (`invalid_body`), or an invalid template (`invalid_graph`, issues under `/template`).',
          ),
        },
        handler: async ({ params, body, principal }) =>
          ok(await changeHook(deps, principal.accountId, params.hookId, body)),
      }),
      defineRoute({
        operationId: 'deleteHook',
        method: 'delete',
        path: '/v1/hooks/{hookId}',
        tags: ['hooks'],
        auth: 'bearer',
        summary: 'Delete a hook; its trigger URL answers 404 from then on',
        request: { params: hookIdParam },
        responses: { 204: { description: 'Deleted.' }, 404: noSuchHook },
        handler: async ({ params, principal }) => {
          await removeHook(deps, principal.accountId, params.hookId);
          return noContent;
        },
      }),
      defineRoute({
        operationId: 'rotateHookSecret',
        method: 'post',
        path: '/v1/hooks/{hookId}/rotate-secret',
        tags: ['hooks'],
        auth: 'bearer',
        summary: 'A new signing secret; the old one is still accepted for 24 hours',
        request: { params: hookIdParam },
        responses: {
          200: {
            description: 'The new secret, shown in this response only.',
            content: json(rotatedHookSecretSchema),
          },
          404: noSuchHook,
        },
        handler: async ({ params, principal }) =>
          ok(await rotateHookSecret(deps, principal.accountId, params.hookId), noStore),
      }),
      defineRoute({
        operationId: 'triggerHook',
        method: 'post',
        path: '/v1/hooks/{hookId}',
        tags: ['hooks'],
        auth: 'none',
        security: [{ hookSignature: [] }],
        summary: 'Start a graph run from another system’s signed request (Standard Webhooks)',
        description: [
          'No access token: the signature over the raw body is the credential. The request must be signed with the hook’s secret, carry a `webhook-timestamp` within 5 minutes of the server’s clock, and its `webhook-id` deduplicates: the same id again answers 202 with `duplicate: true` and the same run, and starts nothing.',
          `The body (any media type, UTF-8 JSON, at most ${HOOK_MAX_BODY_BYTES} bytes) is parsed only after the signature holds; the hook’s mapping then takes the source bucket and key from it.`,
          'The run is a graph workflow with `PixelshiftTrigger=webhook`; follow `statusUrl` (with an access token of the hook’s account) for its outcome.',
        ].join('\n\n'),
        // Missing signature headers or a stale timestamp are refused before the body is read.
        authenticate: (req) => authenticateHookRequest(req.headers),
        request: {
          params: hookIdParam,
          headers: hookTriggerHeadersSchema,
          body: {
            schema: hookTriggerBodySchema,
            contentType: 'application/json',
            // The signature covers the exact bytes, so they are kept as they came, in any media type.
            accept: ['*/*'],
            reader: 'raw',
            maxBytes: HOOK_MAX_BODY_BYTES,
            parse: (body) => (Buffer.isBuffer(body) ? body : Buffer.alloc(0)),
          },
        },
        responses: {
          202: {
            description:
              'Started, or already started by this webhook-id (`duplicate: true`); `Location` is the status URL.',
            content: json(hookTriggerResponseSchema),
          },
          400: errorResponse(
            'Body not UTF-8 JSON (`invalid_json`), or a webhook-id that is not 1–256 visible ASCII characters (`invalid_request`).',
          ),
          401: errorResponse(
            'Missing signature header, stale or future timestamp, or no matching signature (`invalid_signature`); nothing started.',
          ),
          403: errorResponse('The mapped bucket is not granted to the hook’s account (`access_denied`).'),
          404: errorResponse('No enabled hook has this id (`hook_not_found`).'),
          413: errorResponse(`Body larger than ${HOOK_MAX_BODY_BYTES} bytes (\`payload_too_large\`).`),
          422: errorResponse(
            'The body lacks a string at a mapped pointer, or its bucket or key is not acceptable (`invalid_hook_payload`, issue path = the pointer).',
          ),
          503: errorResponse(
            'The job engine could not start the run (`orchestrator_unavailable`); nothing recorded, retry the same message.',
          ),
        },
        // Refusals (4xx) and failures (5xx) are counted here; the shared error handler renders them.
        onError: (error) => {
          deps.events?.count('hook', error.status >= 500 ? 'failed' : 'refused');
        },
        handler: async ({ params, headers, body }) => {
          const result = await triggerHook(deps, { hookId: params.hookId, headers, body });
          deps.events?.count('hook', result.duplicate ? 'duplicate' : 'started');
          return reply(202, result, { Location: result.statusUrl });
        },
      }),
    ],
    document: (registry) => {
      registry.registerComponent('securitySchemes', 'hookSignature', {
        type: 'apiKey',
        in: 'header',
        name: 'webhook-signature',
        description:
          'Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256>` of `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the base64 part of the hook’s `whsec_` secret; `webhook-id` and `webhook-timestamp` are required too.',
      });
    },
  };
}
