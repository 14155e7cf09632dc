/**
 * The OpenAPI 3.1 document, generated from the same zod schemas that validate requests (src/graph for the
 * Transform Graph contract, schemas.ts for the rest), served at `/swagger/v1/swagger.json`.
 *
 * Every unit is a named component and the unit union carries a `discriminator` with a mapping, so
 * generated clients get one class per unit type and need no hand-written fix-ups.
 */
import {
  OpenAPIRegistry,
  OpenApiGeneratorV31,
  zodToOpenAPIRegistry,
  type ResponseConfig,
  type RouteConfig,
} from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { registerSnsOpenApi } from '../features/bucket-events/sns-events.openapi.js';
import { batchInputSchema, transformGraphSchema } from '../core/graph/graph.js';
import { limits, transformUnitSchema } from '../core/graph/units.js';
import { registerHookPaths } from '../features/inbound-hooks/inbound-hooks.openapi.js';
import {
  apiIssueSchema,
  apiKeyListSchema,
  apiKeySchema,
  batchGraphResponseSchema,
  batchStartReportResponseSchema,
  batchStatusResponseSchema,
  cancelBatchResponseSchema,
  compiledChainSchema,
  createdApiKeySchema,
  createKeyRequestSchema,
  errorResponseSchema,
  graphOutcomeSchema,
  graphValidationResponseSchema,
  healthSchema,
  oauthErrorSchema,
  readinessSchema,
  sinkFailureSchema,
  sinkOutcomeSchema,
  throttleOutlookSchema,
  throttleSettingsSchema,
  throttleUpdateSchema,
  tokenRequestSchema,
  tokenResponseSchema,
} from '../api/schemas.js';
import { registerRuleRoutes, ruleTags } from '../features/rules/rules.openapi.js';
import { registerWebhookOpenApi } from '../features/webhooks/webhooks.openapi.js';

/**
 * Names a schema as a component. The graph schemas were built before any OpenAPI extension could be
 * installed, and `.openapi(name)` would return a renamed copy that the union and the recursive graph do
 * not reference; so the name goes into the generator's metadata registry for the very instance they use.
 */
function nameComponent(schema: z.ZodType, refId: string): void {
  zodToOpenAPIRegistry.add(schema, { ...zodToOpenAPIRegistry.get(schema), _internal: { refId } });
}

let componentsNamed = false;

function nameComponents(): void {
  if (componentsNamed) return;
  componentsNamed = true;
  // Each unit is named by its `type` value, which is also its discriminator value.
  for (const option of transformUnitSchema.options) nameComponent(option, option.shape.type.value);
  const named: [z.ZodType, string][] = [
    [transformUnitSchema, 'TransformUnit'],
    [transformGraphSchema, 'TransformGraph'],
    [batchInputSchema, 'BatchRequest'],
    [apiIssueSchema, 'Issue'],
    [errorResponseSchema, 'ErrorResponse'],
    [tokenRequestSchema, 'TokenRequest'],
    [tokenResponseSchema, 'TokenResponse'],
    [oauthErrorSchema, 'OAuthError'],
    [batchStartReportResponseSchema, 'BatchStartReportResponse'],
    [sinkOutcomeSchema, 'SinkOutcome'],
    [sinkFailureSchema, 'SinkFailure'],
    [graphOutcomeSchema, 'GraphOutcome'],
    [batchStatusResponseSchema, 'BatchStatus'],
    [batchGraphResponseSchema, 'BatchGraph'],
    [cancelBatchResponseSchema, 'BatchCancelResponse'],
    [compiledChainSchema, 'CompiledChain'],
    [graphValidationResponseSchema, 'GraphValidationResponse'],
    [createKeyRequestSchema, 'CreateKeyRequest'],
    [apiKeySchema, 'ApiKey'],
    [apiKeyListSchema, 'ApiKeyList'],
    [createdApiKeySchema, 'CreatedApiKey'],
    [throttleSettingsSchema, 'ThrottleSettings'],
    [throttleUpdateSchema, 'ThrottleUpdate'],
    [throttleOutlookSchema, 'ThrottleOutlook'],
    [healthSchema, 'Health'],
    [readinessSchema, 'Readiness'],
  ];
  for (const [schema, refId] of named) nameComponent(schema, refId);
}

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });

function error(description: string): ResponseConfig {
  return { description, content: json(errorResponseSchema) };
}

const commonErrors = {
  401: error(
    'Missing, expired, forged or revoked access token (`unauthorized`), with `WWW-Authenticate: Bearer`.',
  ),
  500: error('Unexpected failure (`internal_error`); the message never carries internal details.'),
};
const bodyErrors = {
  400: error('Malformed JSON (`invalid_json`) or header (`invalid_request`).'),
  413: error('Body larger than the configured limit (`payload_too_large`).'),
  415: error('Body is not application/json (`unsupported_media_type`).'),
};

const batchIdParam = z.object({
  batchId: z.string().describe('Batch id, e.g. b_06h24q7wkp9fjg0znfwzphyzer'),
});

function routes(): RouteConfig[] {
  return [
    {
      method: 'post',
      path: '/oauth/token',
      operationId: 'getToken',
      tags: ['auth'],
      summary: 'Exchange an API key pair for an access token (OAuth 2.0 client credentials)',
      description:
        'RFC 6749 §4.4. Send the key id and secret with HTTP Basic (`client_secret_basic`: each form-urlencoded, then joined with ":" and base64-encoded) or as `client_id`/`client_secret` in the body (`client_secret_post`), not both. Errors follow RFC 6749 §5.2.',
      security: [],
      request: {
        body: {
          required: true,
          content: { 'application/x-www-form-urlencoded': { schema: tokenRequestSchema } },
        },
      },
      responses: {
        200: {
          description: 'A bearer token. Sent with `Cache-Control: no-store`.',
          content: json(tokenResponseSchema),
        },
        400: {
          description: '`invalid_request`, `unsupported_grant_type` or `invalid_scope`.',
          content: json(oauthErrorSchema),
        },
        401: {
          description:
            '`invalid_client`: unknown key, wrong secret or revoked key. With `WWW-Authenticate: Basic`.',
          content: json(oauthErrorSchema),
        },
      },
    },
    {
      method: 'post',
      path: '/v1/batches',
      operationId: 'submitBatch',
      tags: ['batches'],
      summary: `Submit up to ${limits.maxGraphsPerBatch} Transform Graphs as one batch`,
      description:
        'The batch is validated whole: one invalid graph refuses the batch and nothing is stored or started. With an `Idempotency-Key`, a retry of the same body returns the same response (and the same batch); the same key with a different body is refused with 409.',
      request: {
        headers: z.object({
          'Idempotency-Key': z
            .string()
            .min(1)
            .max(255)
            .optional()
            .describe('Makes retries safe: 1–255 visible ASCII characters, unique per intended batch.'),
        }),
        body: { required: true, content: json(batchInputSchema) },
      },
      responses: {
        201: {
          description:
            'Accepted and started. `Idempotent-Replayed: true` when an earlier request created it.',
          content: json(batchStartReportResponseSchema),
        },
        ...bodyErrors,
        ...commonErrors,
        403: error('A bucket is not granted to the account (`access_denied`, issues by pointer).'),
        409: error('The Idempotency-Key was used with a different body (`idempotency_conflict`).'),
        422: error(
          'Invalid graphs or unknown storage connections (`invalid_graph`, every issue by pointer).',
        ),
        503: error(
          'Stored but the job engine could not start it (`orchestrator_unavailable`): retry with the same Idempotency-Key.',
        ),
      },
    },
    {
      method: 'get',
      path: '/v1/batches/{batchId}',
      operationId: 'getBatch',
      tags: ['batches'],
      summary: 'Batch status: counts per state and each graph’s outcome with per-sink results',
      request: { params: batchIdParam },
      responses: {
        200: { description: 'Current status.', content: json(batchStatusResponseSchema) },
        ...commonErrors,
        404: error('No such batch for this account (`not_found`).'),
        503: error('The job engine is unavailable (`orchestrator_unavailable`).'),
      },
    },
    {
      method: 'get',
      path: '/v1/batches/{batchId}/graphs/{index}',
      operationId: 'getBatchGraph',
      tags: ['batches'],
      summary: 'One graph of a batch, as submitted, with its outcome',
      request: {
        params: batchIdParam.extend({ index: z.string().regex(/^\d+$/).describe('0-based graph index.') }),
      },
      responses: {
        200: { description: 'The graph and its outcome.', content: json(batchGraphResponseSchema) },
        400: error('The index is not a non-negative integer (`invalid_request`).'),
        ...commonErrors,
        404: error('No such batch for this account, or no graph at that index (`not_found`).'),
        503: error('The job engine is unavailable (`orchestrator_unavailable`).'),
      },
    },
    {
      method: 'post',
      path: '/v1/batches/{batchId}/cancel',
      operationId: 'cancelBatch',
      tags: ['batches'],
      summary: 'Cancel a batch: running graphs are cancelled and recorded as such',
      request: { params: batchIdParam },
      responses: {
        202: { description: 'Cancellation requested.', content: json(cancelBatchResponseSchema) },
        ...commonErrors,
        404: error('No such batch for this account (`not_found`).'),
        503: error('The job engine is unavailable (`orchestrator_unavailable`).'),
      },
    },
    {
      method: 'post',
      path: '/v1/graphs:validate',
      operationId: 'validateGraph',
      tags: ['graphs'],
      summary: 'Dry run: validate one Transform Graph and show its compiled chains',
      description:
        'Runs every check a submission runs (shape, chain rules, storage connections and grants), stores and starts nothing. A valid graph answers 200 with each root-to-leaf chain; an invalid one answers exactly as `POST /v1/batches` would (422 or 403 with issues).',
      request: { body: { required: true, content: json(transformGraphSchema) } },
      responses: {
        200: { description: 'The graph is valid.', content: json(graphValidationResponseSchema) },
        ...bodyErrors,
        ...commonErrors,
        403: error('A bucket is not granted to the account (`access_denied`).'),
        422: error('The graph is invalid (`invalid_graph`, every issue by pointer).'),
      },
    },
    {
      method: 'get',
      path: '/v1/keys',
      operationId: 'listKeys',
      tags: ['keys'],
      summary: 'The account’s API keys (never their secrets)',
      responses: {
        200: { description: 'All keys, revoked ones included.', content: json(apiKeyListSchema) },
        ...commonErrors,
      },
    },
    {
      method: 'post',
      path: '/v1/keys',
      operationId: 'createKey',
      tags: ['keys'],
      summary: 'Create an API key pair; the secret is shown in this response only',
      request: { body: { required: false, content: json(createKeyRequestSchema) } },
      responses: {
        201: { description: 'The new key pair.', content: json(createdApiKeySchema) },
        ...bodyErrors,
        ...commonErrors,
        422: error('Invalid body (`invalid_body`).'),
      },
    },
    {
      method: 'delete',
      path: '/v1/keys/{keyId}',
      operationId: 'revokeKey',
      tags: ['keys'],
      summary: 'Revoke an API key: token exchanges and tokens already issued with it stop working',
      request: { params: z.object({ keyId: z.string().describe('Public key id, e.g. pk_…') }) },
      responses: {
        204: { description: 'Revoked.' },
        ...commonErrors,
        404: error('No such key for this account (`not_found`).'),
      },
    },
    {
      method: 'get',
      path: '/v1/account/throttle',
      operationId: 'getThrottle',
      tags: ['account'],
      summary: 'The account’s throttle: transforms (graph runs) per rolling window',
      responses: {
        200: { description: 'The current setting.', content: json(throttleSettingsSchema) },
        ...commonErrors,
      },
    },
    {
      method: 'put',
      path: '/v1/account/throttle',
      operationId: 'setThrottle',
      tags: ['account'],
      summary: 'Change the throttle; it applies at once to every graph that has not started',
      description:
        'Work over the limit is never refused: it waits, shown as `throttled` with `throttledUntil`. A raised limit lets waiting graphs start within a second or two; a lowered one moves waiting graphs later. Graphs already started are not affected.',
      request: { body: { required: true, content: json(throttleUpdateSchema) } },
      responses: {
        200: { description: 'The new setting.', content: json(throttleSettingsSchema) },
        ...bodyErrors,
        ...commonErrors,
        422: error(
          'Invalid body (`invalid_body`): not an integer from 1 to 1000000, an unknown field, or a changed `windowSeconds`.',
        ),
        503: error(
          'Saved, but the job engine could not be told (`orchestrator_unavailable`): send the same value again to wake waiting graphs.',
        ),
      },
    },
    {
      method: 'get',
      path: '/healthz',
      operationId: 'health',
      tags: ['operations'],
      summary: 'Liveness: the process answers',
      security: [],
      responses: { 200: { description: 'Alive.', content: json(healthSchema) } },
    },
    {
      method: 'get',
      path: '/readyz',
      operationId: 'readiness',
      tags: ['operations'],
      summary: 'Readiness: the database and the job engine answer',
      security: [],
      responses: {
        200: { description: 'Ready.', content: json(readinessSchema) },
        503: { description: 'A dependency is down; `checks` says which.', content: json(readinessSchema) },
      },
    },
    {
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      tags: ['operations'],
      summary: 'Prometheus metrics',
      security: [],
      responses: {
        200: {
          description: 'Prometheus text exposition format.',
          content: { 'text/plain': { schema: z.string() } },
        },
      },
    },
  ];
}

export interface OpenApiOptions {
  /** Absolute base URL clients should use (PUBLIC_URL); relative URLs otherwise. */
  publicUrl?: string | undefined;
}

import type { OpenApiDocument } from '../api/docs-routes.js';

export type { OpenApiDocument };

export function buildOpenApiDocument(options: OpenApiOptions = {}): OpenApiDocument {
  nameComponents();
  const base = options.publicUrl?.replace(/\/+$/, '') ?? '';
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'oauth2', {
    type: 'oauth2',
    description: 'Client credentials: an API key id and secret exchanged at /oauth/token.',
    flows: { clientCredentials: { tokenUrl: `${base}/oauth/token`, scopes: {} } },
  });
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An access token from /oauth/token.',
  });
  for (const route of routes()) registry.registerPath(route);
  registerHookPaths(registry);
  registerRuleRoutes(registry);
  registerSnsOpenApi(registry);
  registerWebhookOpenApi(registry);

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'pixelshift',
      version: '1.0.0',
      description:
        'Self-hostable image transform service. Submit batches of Transform Graphs (source → operations → format → sink, with branches); they run durably and write to your storage. Errors are `{ "error": { "code", "message", "issues"? } }` with stable codes; the token endpoint answers in the OAuth 2.0 error format.',
    },
    servers: [{ url: base === '' ? '/' : base }],
    security: [{ oauth2: [] }, { bearerAuth: [] }],
    tags: [
      { name: 'auth', description: 'Access tokens' },
      { name: 'batches', description: 'Batches of Transform Graphs' },
      { name: 'graphs', description: 'Graph validation' },
      { name: 'keys', description: 'API key pairs of the account' },
      { name: 'account', description: 'Account settings: the throttle' },
      { name: 'webhooks', description: 'Outbound webhook subscriptions, their delivery log and payloads' },
      { name: 'operations', description: 'Health, readiness, metrics' },
      ...ruleTags,
    ],
  });
}
