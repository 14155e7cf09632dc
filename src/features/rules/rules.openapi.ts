/**
 * OpenAPI registrations for upload rules, bucket event ingress and triggered runs (DESIGN §8, §10),
 * from the same zod schemas the routes validate with (schemas-rules.ts).
 */
import {
  zodToOpenAPIRegistry,
  type OpenAPIRegistry,
  type ResponseConfig,
  type RouteConfig,
} from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { MAX_RECORDS_PER_BODY } from '../../core/triggers/s3-event-records.js';
import { errorResponseSchema } from '../../api/schemas.js';
import {
  ruleListSchema,
  ruleRequestSchema,
  ruleResponseSchema,
  runListQuerySchema,
  runListSchema,
  runResponseSchema,
  runSummarySchema,
  s3EventBodySchema,
  s3EventResultSchema,
  s3TestEventResultSchema,
} from './rules.schemas.js';

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });
const error = (description: string): ResponseConfig => ({ description, content: json(errorResponseSchema) });

const unauthorized = error(
  'Missing, expired, forged or revoked access token (`unauthorized`), with `WWW-Authenticate: Bearer`.',
);
const bodyErrors = {
  400: error('Malformed JSON (`invalid_json`).'),
  413: error('Body larger than the configured limit (`payload_too_large`).'),
  415: error('Body is not application/json (`unsupported_media_type`).'),
};
const ruleRefusals = {
  403: error(
    'The watched bucket or a bucket of the template is not granted to the account (`access_denied`, issues `bucket_not_granted`).',
  ),
  422: error(
    'Invalid body (`invalid_body`: unknown field, unknown connection, minSize above maxSize…), invalid template (`invalid_graph`, issues under `/template`), or a rule whose outputs could trigger itself (`rule_would_loop`, the looping sinks by pointer).',
  ),
};
const ruleIdParam = z.object({
  ruleId: z.string().describe('Rule id, e.g. rule_06h24q7wkp9fjg0znfwzphyzer'),
});

let named = false;

function nameComponents(): void {
  if (named) return;
  named = true;
  const components: [z.ZodType, string][] = [
    [ruleRequestSchema, 'RuleRequest'],
    [ruleResponseSchema, 'Rule'],
    [ruleListSchema, 'RuleList'],
    [s3EventBodySchema, 'S3EventBody'],
    [s3EventResultSchema, 'S3EventResult'],
    [s3TestEventResultSchema, 'S3TestEventResult'],
    [runSummarySchema, 'RunSummary'],
    [runListSchema, 'RunList'],
    [runResponseSchema, 'Run'],
  ];
  for (const [schema, refId] of components) {
    zodToOpenAPIRegistry.add(schema, { ...zodToOpenAPIRegistry.get(schema), _internal: { refId } });
  }
}

function routes(): RouteConfig[] {
  return [
    {
      method: 'post',
      path: '/v1/rules',
      operationId: 'createRule',
      tags: ['rules'],
      summary: 'Create an upload rule: objects created in a bucket start a graph',
      description:
        'The template is a graph without its source; the uploaded object becomes the source. Every check runs before anything is saved: the template with the graph validator, the buckets against the account’s grants, and that no sink could write an object the rule itself matches (its own bucket, a key that could start with its prefix and end with its suffix, a content type it accepts). Outputs carry generated metadata and never trigger rules.',
      request: { body: { required: true, content: json(ruleRequestSchema) } },
      responses: {
        201: { description: 'Saved. `Location` is the rule’s URL.', content: json(ruleResponseSchema) },
        ...bodyErrors,
        401: unauthorized,
        ...ruleRefusals,
      },
    },
    {
      method: 'get',
      path: '/v1/rules',
      operationId: 'listRules',
      tags: ['rules'],
      summary: 'The account’s rules, oldest first',
      responses: { 200: { description: 'All rules.', content: json(ruleListSchema) }, 401: unauthorized },
    },
    {
      method: 'get',
      path: '/v1/rules/{ruleId}',
      operationId: 'getRule',
      tags: ['rules'],
      summary: 'One rule',
      request: { params: ruleIdParam },
      responses: {
        200: { description: 'The rule.', content: json(ruleResponseSchema) },
        401: unauthorized,
        404: error('No such rule for this account (`not_found`).'),
      },
    },
    {
      method: 'put',
      path: '/v1/rules/{ruleId}',
      operationId: 'replaceRule',
      tags: ['rules'],
      summary: 'Replace a rule: the body is the whole new rule (omitted optional fields take their defaults)',
      request: { params: ruleIdParam, body: { required: true, content: json(ruleRequestSchema) } },
      responses: {
        200: { description: 'The rule as saved.', content: json(ruleResponseSchema) },
        ...bodyErrors,
        401: unauthorized,
        404: error('No such rule for this account (`not_found`).'),
        ...ruleRefusals,
      },
    },
    {
      method: 'delete',
      path: '/v1/rules/{ruleId}',
      operationId: 'deleteRule',
      tags: ['rules'],
      summary: 'Delete a rule; runs it started keep running',
      request: { params: ruleIdParam },
      responses: {
        204: { description: 'Deleted.' },
        401: unauthorized,
        404: error('No such rule for this account (`not_found`).'),
      },
    },
    {
      method: 'post',
      path: '/v1/events/s3',
      operationId: 'receiveS3Events',
      tags: ['events'],
      summary: 'Bucket event ingress: S3 notifications, MinIO webhooks and EventBridge Object Created events',
      description: `Authenticated with the \`events.token\` of a storage connection (\`Authorization: Bearer <token>\`), which also names the connection the buckets are on. Answers 2xx only after a graph run was durably started for every matching rule, so a sender that gets an error delivers again; a redelivered event starts nothing twice (the run's workflow ID is the connection, bucket, key, the upload's sequencer or ETag, and the rule). Records that are not ObjectCreated are counted as ignored; \`s3:TestEvent\` is acknowledged. At most ${MAX_RECORDS_PER_BODY} records and 1 MiB per body; \`text/plain\` bodies are read as JSON.`,
      security: [{ eventToken: [] }],
      request: {
        body: {
          required: true,
          content: {
            'application/json': { schema: s3EventBodySchema },
            'text/plain': { schema: s3EventBodySchema },
          },
        },
      },
      responses: {
        200: {
          description:
            'Every matching run is started (or already was). The TestEvent answers `{ "test": true }`.',
          content: json(z.union([s3EventResultSchema, s3TestEventResultSchema])),
        },
        400: error(
          'Malformed JSON (`invalid_json`), a body of no known shape or with invalid records (`invalid_event`, issues by pointer, e.g. a malformed percent escape in a key or an event version other than 2.x), or too many records (`too_many_records`).',
        ),
        401: error(
          'Missing or unknown event token (`invalid_event_token`), with `WWW-Authenticate: Bearer`.',
        ),
        403: error(
          'A bucket that no account is granted on the token’s connection (`access_denied`, issues `bucket_not_granted`); nothing was started.',
        ),
        413: error('Body larger than 1 MiB (`payload_too_large`).'),
        415: error('Body is neither JSON nor text (`unsupported_media_type`).'),
        503: error(
          'The job engine or the storage did not answer (`orchestrator_unavailable`): deliver the events again.',
        ),
      },
    },
    {
      method: 'get',
      path: '/v1/events/s3/runs',
      operationId: 'listS3Runs',
      tags: ['events'],
      summary: 'Runs started by bucket events for this account, newest first',
      request: { query: runListQuerySchema },
      responses: {
        200: { description: 'One page of runs.', content: json(runListSchema) },
        400: error('A query value is invalid (`invalid_request`, issues by parameter).'),
        401: unauthorized,
        503: error('The job engine is unavailable (`orchestrator_unavailable`).'),
      },
    },
    {
      method: 'get',
      path: '/v1/runs/{runId}',
      operationId: 'getRun',
      tags: ['events'],
      summary: 'One triggered run (rule or inbound hook): its state and per-sink outcome',
      request: {
        params: z.object({
          runId: z
            .string()
            .describe(
              'The workflow ID, URI-encoded into one path segment (`/` as `%2F`), as in `statusUrl`.',
            ),
        }),
      },
      responses: {
        200: { description: 'The run’s outcome so far.', content: json(runResponseSchema) },
        401: unauthorized,
        404: error('No such run for this account (`run_not_found`).'),
        503: error('The job engine is unavailable (`orchestrator_unavailable`).'),
      },
    },
  ];
}

/** Registers the rules, events and runs paths, their components and the event token scheme. */
export function registerRuleRoutes(registry: OpenAPIRegistry): void {
  nameComponents();
  registry.registerComponent('securitySchemes', 'eventToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'The `events.token` of a storage connection (server config); only for POST /v1/events/s3.',
  });
  for (const route of routes()) registry.registerPath(route);
}

export const ruleTags = [
  { name: 'rules', description: 'Upload rules: bucket events that start graphs' },
  { name: 'events', description: 'Bucket event ingress and the runs it started' },
];
