/** `/v1/batches`: submit a batch, read its status and its graphs, cancel it. */
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../../core/config.js';
import { batchInputSchema } from '../../core/graph/graph.js';
import { limits } from '../../core/graph/units.js';
import type { BatchJobs, WorkflowLinks } from '../../core/jobs/orchestrator-ports.js';
import type { Db } from '../../db/database.js';
import { defineRoute, reply, ok, type ApiFeature } from '../../api/define-route.js';
import { errorResponse } from '../../api/openapi-builder.js';
import {
  batchGraphResponseSchema,
  batchStartReportResponseSchema,
  batchStatusResponseSchema,
  cancelBatchResponseSchema,
} from './batches.schemas.js';
import { cancelBatch } from './cancel-batch.js';
import { getBatchGraph } from './get-batch-graph.js';
import { getBatchStatus } from './get-batch-status.js';
import { parseBatch, submitBatch } from './submit-batch.js';

export interface BatchRouteDeps {
  db: Db;
  orchestrator: BatchJobs & WorkflowLinks;
  config: Config;
  logger?: Logger | undefined;
}

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });

const batchIdParam = z.object({
  batchId: z.string().describe('Batch id, e.g. b_06h24q7wkp9fjg0znfwzphyzer'),
});

const idempotencyHeader = z.object({
  'Idempotency-Key': z
    .string()
    // 1–255 visible ASCII characters, as common Idempotency-Key implementations accept.
    .regex(
      /^[\x21-\x7e]{1,255}$/,
      'Expected 1 to 255 visible ASCII characters for the Idempotency-Key header',
    )
    .optional()
    .describe('Makes retries safe: 1–255 visible ASCII characters, unique per intended batch.'),
});

const engineUnavailable = errorResponse('The job engine is unavailable (`orchestrator_unavailable`).');
const noSuchBatch = errorResponse('No such batch for this account (`not_found`).');

export function batchesFeature(deps: BatchRouteDeps): ApiFeature {
  return {
    tags: [{ name: 'batches', description: 'Batches of Transform Graphs' }],
    routes: [
      defineRoute({
        operationId: 'submitBatch',
        method: 'post',
        path: '/v1/batches',
        tags: ['batches'],
        auth: 'bearer',
        summary: `Submit up to ${limits.maxGraphsPerBatch} Transform Graphs as one batch`,
        description:
          'The batch is validated whole: one invalid graph refuses the batch and nothing is stored or started. With an `Idempotency-Key`, a retry of the same body returns the same response (and the same batch); the same key with a different body is refused with 409.',
        request: {
          headers: idempotencyHeader,
          body: {
            schema: batchInputSchema,
            contentType: 'application/json',
            parse: (body) => parseBatch(deps.config, body),
          },
        },
        responses: {
          201: {
            description:
              'Accepted and started. `Location` is the status URL; `Idempotent-Replayed: true` when an earlier request created it.',
            content: json(batchStartReportResponseSchema),
          },
          403: errorResponse('A bucket is not granted to the account (`access_denied`, issues by pointer).'),
          409: errorResponse('The Idempotency-Key was used with a different body (`idempotency_conflict`).'),
          422: errorResponse(
            'Invalid graphs or unknown storage connections (`invalid_graph`, every issue by pointer).',
          ),
          503: errorResponse(
            'Stored but the job engine could not start it (`orchestrator_unavailable`): retry with the same Idempotency-Key.',
          ),
        },
        handler: async ({ headers, body, principal }) => {
          const { response, replayed } = await submitBatch(deps, {
            accountId: principal.accountId,
            batch: body,
            idempotencyKey: headers['Idempotency-Key'],
          });
          return reply(201, response, {
            Location: response.statusUrl,
            ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}),
          });
        },
      }),
      defineRoute({
        operationId: 'getBatch',
        method: 'get',
        path: '/v1/batches/{batchId}',
        tags: ['batches'],
        auth: 'bearer',
        summary: 'Batch status: counts per state and each graph’s outcome with per-sink results',
        request: { params: batchIdParam },
        responses: {
          200: { description: 'Current status.', content: json(batchStatusResponseSchema) },
          404: noSuchBatch,
          503: engineUnavailable,
        },
        handler: async ({ params, principal }) =>
          ok(await getBatchStatus(deps, principal.accountId, params.batchId)),
      }),
      defineRoute({
        operationId: 'getBatchGraph',
        method: 'get',
        path: '/v1/batches/{batchId}/graphs/{index}',
        tags: ['batches'],
        auth: 'bearer',
        summary: 'One graph of a batch, as submitted, with its outcome',
        request: {
          params: batchIdParam.extend({
            // Canonical decimal only: "01", "1.0", "-1" and "1e3" are not graph indexes.
            index: z
              .string()
              .regex(/^(?:0|[1-9][0-9]{0,8})$/, 'Expected a graph index (a non-negative integer) for index')
              .describe('0-based graph index.'),
          }),
        },
        responses: {
          200: { description: 'The graph and its outcome.', content: json(batchGraphResponseSchema) },
          400: errorResponse('The index is not a non-negative integer (`invalid_request`).'),
          404: errorResponse('No such batch for this account, or no graph at that index (`not_found`).'),
          503: engineUnavailable,
        },
        handler: async ({ params, principal }) =>
          ok(await getBatchGraph(deps, principal.accountId, params.batchId, Number(params.index))),
      }),
      defineRoute({
        operationId: 'cancelBatch',
        method: 'post',
        path: '/v1/batches/{batchId}/cancel',
        tags: ['batches'],
        auth: 'bearer',
        summary: 'Cancel a batch: running graphs are cancelled and recorded as such',
        request: { params: batchIdParam },
        responses: {
          202: { description: 'Cancellation requested.', content: json(cancelBatchResponseSchema) },
          404: noSuchBatch,
          503: engineUnavailable,
        },
        handler: async ({ params, principal }) =>
          reply(202, await cancelBatch(deps, principal.accountId, params.batchId)),
      }),
    ],
  };
}
