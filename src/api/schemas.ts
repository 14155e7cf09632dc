/**
 * Request and response shapes of the HTTP API, as zod schemas: request bodies are validated with them,
 * response types are inferred from them, and the OpenAPI document is generated from them (openapi.ts),
 * so the three cannot drift apart.
 */
import { z } from 'zod';
import { oauthErrorCodes } from '../core/auth/client-credentials.js';
import { errorCodes } from '../core/errors.js';
import { transformGraphSchema } from '../core/graph/graph.js';
import { outputFormats } from '../core/graph/units.js';
import { MAX_TRANSFORMS_PER_HOUR } from '../core/throttle/throttle-schedule.js';
import {
  graphStates,
  type BatchStatus,
  type GraphOutcome,
  type GraphState,
  type SinkFailureOutcome,
  type SinkOutcome,
} from '../core/jobs/job-status.js';

// ------------------------------------------------------------------ errors

export const apiIssueSchema = z.strictObject({
  path: z.string().describe('JSON pointer (RFC 6901) into the request body.'),
  code: z.string().describe('Stable machine-readable code, e.g. "unknown_field".'),
  message: z.string(),
});

export const errorResponseSchema = z.strictObject({
  error: z.strictObject({
    code: z.string().describe('Stable machine-readable code, e.g. "invalid_graph".'),
    message: z.string().describe('Human-readable, safe to show; never contains internal details.'),
    issues: z.array(apiIssueSchema).optional().describe('Every problem found, each with a JSON pointer.'),
  }),
});

// ------------------------------------------------------------------ OAuth (RFC 6749 §4.4, §5)

export const tokenRequestSchema = z.object({
  grant_type: z.literal('client_credentials'),
  client_id: z.string().optional().describe('Only with client_secret_post; prefer HTTP Basic.'),
  client_secret: z.string().optional().describe('Only with client_secret_post; prefer HTTP Basic.'),
  scope: z.string().optional().describe('No scopes are defined: omit it, or leave it empty.'),
});

export const tokenResponseSchema = z.strictObject({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().describe('Lifetime of the token in seconds.'),
});

export const oauthErrorSchema = z.strictObject({
  error: z.enum(oauthErrorCodes),
  error_description: z.string().optional(),
});

// ------------------------------------------------------------------ throttle

const transformsPerHourDescription =
  'Graph runs that may start in any rolling window of `windowSeconds` (one hour unless the server is configured otherwise). One transform is one graph run.';

export const throttleSettingsSchema = z.strictObject({
  transformsPerHour: z.number().int().describe(transformsPerHourDescription),
  windowSeconds: z.number().describe('Length of the rolling window, set in server config (read-only).'),
});
export type ThrottleSettingsResponse = z.infer<typeof throttleSettingsSchema>;

export const throttleUpdateSchema = z.strictObject({
  transformsPerHour: z
    .number()
    .int()
    .min(1)
    .max(MAX_TRANSFORMS_PER_HOUR)
    .describe(transformsPerHourDescription),
  windowSeconds: z
    .number()
    .optional()
    .describe('Read-only: accepted only when equal to the current value, so a GET body can be sent back.'),
});

export const throttleOutlookSchema = z
  .strictObject({
    transformsPerHour: z.number().int().describe('The account’s limit when this was computed.'),
    windowSeconds: z.number(),
    expectedLastStartAt: z.iso
      .datetime()
      .nullable()
      .describe(
        'When the last graph of the batch is expected to start under the current limit (graphs of other batches that have not reserved a slot yet are not counted); null once every graph has started.',
      ),
  })
  .describe(
    'The throttle outlook of a batch; absent when the server runs without a throttle or the batch has finished.',
  );
export type ThrottleOutlook = z.infer<typeof throttleOutlookSchema>;

const throttleOutlookField = throttleOutlookSchema.optional();

// ------------------------------------------------------------------ batches

export const batchStartReportResponseSchema = z.strictObject({
  batchId: z.string(),
  graphsAccepted: z.number().int().min(1),
  workflowId: z.string().describe('ID of the batch workflow, as shown in the Temporal UI.'),
  statusUrl: z.string().describe('Where to poll the batch status.'),
  createdAt: z.iso.datetime(),
  temporalUiUrl: z
    .string()
    .optional()
    .describe('Link to the batch workflow when TEMPORAL_UI_URL is configured.'),
  throttle: throttleOutlookField,
});
export type BatchStartReportResponse = z.infer<typeof batchStartReportResponseSchema>;

const batchStates = ['running', 'succeeded', 'partial', 'failed', 'cancelled'] as const;

export const sinkOutcomeSchema = z.strictObject({
  storage: z.string(),
  bucket: z.string(),
  key: z.string(),
  bytes: z.number().int(),
  format: z.enum(outputFormats),
  width: z.number().int(),
  height: z.number().int(),
  etag: z.string(),
});

export const sinkFailureSchema = z.strictObject({
  storage: z.string(),
  bucket: z.string(),
  key: z.string(),
  error: z.strictObject({ code: z.enum(errorCodes), message: z.string(), unit: z.string().optional() }),
});

export const graphOutcomeSchema = z.strictObject({
  index: z.number().int(),
  workflowId: z.string(),
  state: z.enum(graphStates),
  sinks: z.array(sinkOutcomeSchema),
  failures: z.array(sinkFailureSchema),
  error: z
    .strictObject({ code: z.enum([...errorCodes, 'cancelled', 'internal']), message: z.string() })
    .optional()
    .describe('Why the whole graph failed; sink-level errors are in failures.'),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  throttledUntil: z.string().optional().describe('While throttled: when the graph may start.'),
  temporalUiUrl: z.string().optional(),
});

export const batchStatusResponseSchema = z.strictObject({
  accountId: z.string(),
  batchId: z.string(),
  workflowId: z.string(),
  state: z.enum(batchStates),
  graphCount: z.number().int(),
  counts: z.record(z.enum(graphStates), z.number().int()).describe('Number of graphs in each state.'),
  graphs: z.array(graphOutcomeSchema),
  createdAt: z.string(),
  finishedAt: z.string().optional(),
  temporalUiUrl: z.string().optional(),
  throttle: throttleOutlookField,
});
export type BatchStatusResponse = z.infer<typeof batchStatusResponseSchema>;
export type GraphOutcomeResponse = z.infer<typeof graphOutcomeSchema>;

export const batchGraphResponseSchema = z.strictObject({
  batchId: z.string(),
  index: z.number().int(),
  graph: transformGraphSchema,
  /** Absent until the graph workflow reports. */
  outcome: graphOutcomeSchema.optional(),
});
export type BatchGraphResponse = z.infer<typeof batchGraphResponseSchema>;

export const cancelBatchResponseSchema = z.strictObject({
  batchId: z.string(),
  cancelRequested: z.literal(true),
});

// ------------------------------------------------------------------ graph validation (dry run)

export const compiledChainSchema = z.strictObject({
  leaf: z.string().describe('JSON pointer of the graph node that ends this chain.'),
  units: z.array(z.string()).describe('Unit types from the source to the sink, in order.'),
});

export const graphValidationResponseSchema = z.strictObject({
  valid: z.literal(true),
  chains: z.array(compiledChainSchema),
});
export type GraphValidationResponse = z.infer<typeof graphValidationResponseSchema>;

// ------------------------------------------------------------------ keys

export const createKeyRequestSchema = z.strictObject({
  label: z.string().min(1).max(100).optional().describe('A note for humans, e.g. "billing backend".'),
});

export const apiKeySchema = z.strictObject({
  keyId: z.string().describe('Public key id, used as the OAuth client_id.'),
  label: z.string().nullable(),
  createdAt: z.iso.datetime(),
  lastUsedAt: z.iso.datetime().nullable().describe('Last successful token exchange with this key.'),
  revokedAt: z.iso.datetime().nullable(),
});
export type ApiKeyResponse = z.infer<typeof apiKeySchema>;

export const apiKeyListSchema = z.strictObject({ keys: z.array(apiKeySchema) });

export const createdApiKeySchema = z.strictObject({
  keyId: z.string(),
  secret: z.string().describe('Shown this once; only a hash is kept. Use it as the OAuth client_secret.'),
  label: z.string().nullable(),
  createdAt: z.iso.datetime(),
});
export type CreatedApiKeyResponse = z.infer<typeof createdApiKeySchema>;

// ------------------------------------------------------------------ operations

export const healthSchema = z.strictObject({ status: z.literal('ok') });

export const readinessSchema = z.strictObject({
  status: z.enum(['ready', 'unavailable']),
  checks: z.strictObject({ database: z.enum(['ok', 'failed']), orchestrator: z.enum(['ok', 'failed']) }),
});
export type Readiness = z.infer<typeof readinessSchema>;

// ------------------------------------------------------------------ drift guards

/** Compile-time proof that the documented status shapes are the ones the workflows produce. */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : never;
type Documented<T> = Omit<T, 'temporalUiUrl' | 'throttle'>;
export const statusShapesAgree: [
  Same<z.infer<typeof sinkOutcomeSchema>, SinkOutcome>,
  Same<z.infer<typeof sinkFailureSchema>, SinkFailureOutcome>,
  Same<Documented<GraphOutcomeResponse>, GraphOutcome>,
  Same<Documented<Omit<BatchStatusResponse, 'graphs'>>, Omit<BatchStatus, 'graphs'>>,
  Same<(typeof graphStates)[number], GraphState>,
] = [true, true, true, true, true];
