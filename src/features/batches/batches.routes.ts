/**
 * `/v1/batches`: submit a batch, list the account's batches, read a batch's status and its graphs, cancel
 * it, retry its failed graphs, and preview its written outputs.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../../core/config.js';
import { batchInputSchema } from '../../core/graph/graph.js';
import { limits } from '../../core/graph/units.js';
import type { BatchJobs, WorkflowLinks } from '../../core/jobs/orchestrator-ports.js';
import type { StoreRegistry } from '../../core/storage/connections.js';
import type { Db } from '../../db/database.js';
import { defineRoute, reply, ok, type ApiFeature } from '../../api/define-route.js';
import { errorResponse } from '../../api/openapi-builder.js';
import { queryInteger } from '../../api/page-token.js';
import {
  batchGraphPageResponseSchema,
  batchGraphResponseSchema,
  batchGraphsQuerySchema,
  batchListQuerySchema,
  batchListResponseSchema,
  batchStartReportResponseSchema,
  batchStatusResponseSchema,
  cancelBatchResponseSchema,
} from './batches.schemas.js';
import { cancelBatch } from './cancel-batch.js';
import { getBatchGraph } from './get-batch-graph.js';
import { getBatchStatus, listBatchGraphs } from './get-batch-status.js';
import { listBatches } from './list-batches.js';
import { outputThumbnail, thumbnailCacheControl } from './output-thumbnail.js';
import { retryFailedGraphs } from './retry-failed.js';
import { parseBatch, submitBatch, type SubmitBatchResult } from './submit-batch.js';
import { ThumbnailCache, type ThumbnailCacheOptions } from './thumbnail-cache.js';

export interface BatchRouteDeps {
  db: Db;
  orchestrator: BatchJobs & WorkflowLinks;
  config: Config;
  /** Where thumbnails read written outputs from. */
  stores: Pick<StoreRegistry, 'get'>;
  /** Bounds of the thumbnails' in-process cache (defaults: 1000 entries, 32 MiB). */
  thumbnailCache?: ThumbnailCacheOptions | undefined;
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

// Canonical decimal only: "01", "1.0", "-1" and "1e3" are not indexes.
const indexParam = (name: string, what: string) =>
  z
    .string()
    .regex(/^(?:0|[1-9][0-9]{0,8})$/, `Expected ${what} (a non-negative integer) for ${name}`)
    .describe(`0-based ${what}.`);

const thumbnailParams = batchIdParam.extend({
  index: indexParam('index', 'graph index'),
  outputIndex: indexParam('outputIndex', 'output index: the position in the graph outcome’s `sinks`'),
});

const thumbnailQuery = z.strictObject({
  size: queryInteger(32, 512)
    .default(256)
    .describe('The thumbnail fits inside a size × size square (pixels); smaller images are not enlarged.'),
});

const thumbnailHeaders = z.object({
  'If-None-Match': z
    .string()
    .max(1024)
    .optional()
    .describe('The ETag of a thumbnail held: 304 when it is still current.'),
});

/** What submit and retry-failed answer alike when the engine cannot start the stored batch. */
const storedNotStarted = errorResponse(
  'Stored but the job engine could not start it (`orchestrator_unavailable`): retry with the same Idempotency-Key.',
);

/** 201 with the new batch's start report, as submit answers. */
function started({ response, replayed }: SubmitBatchResult) {
  return reply(201, response, {
    Location: response.statusUrl,
    ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}),
  });
}

export function batchesFeature(deps: BatchRouteDeps): ApiFeature {
  const thumbnails = new ThumbnailCache(deps.thumbnailCache);
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
          503: storedNotStarted,
        },
        handler: async ({ headers, body, principal }) =>
          started(
            await submitBatch(deps, {
              accountId: principal.accountId,
              batch: body,
              idempotencyKey: headers['Idempotency-Key'],
            }),
          ),
      }),
      defineRoute({
        operationId: 'listBatches',
        method: 'get',
        path: '/v1/batches',
        tags: ['batches'],
        auth: 'bearer',
        summary: 'The account’s batches, newest first, with counts per state; paged, filtered by state or id',
        description:
          'Read from the read model. Paged on the order batches were accepted: stable while states change. Query parameters other than those listed are refused (`invalid_request`).',
        request: { query: batchListQuerySchema },
        responses: {
          200: { description: 'One page of batches.', content: json(batchListResponseSchema) },
          400: errorResponse(
            'A query value is invalid, unknown or repeated (a `state` that is not a batch state, a `q` with characters batch ids do not have, a `pageSize` out of range), or `pageToken` is not one this API handed out (`invalid_request`).',
          ),
        },
        handler: async ({ query, principal }) => ok(await listBatches(deps.db, principal.accountId, query)),
      }),
      defineRoute({
        operationId: 'getBatch',
        method: 'get',
        path: '/v1/batches/{batchId}',
        tags: ['batches'],
        auth: 'bearer',
        summary: 'Batch status: counts per state, and links to its graphs',
        description:
          'Read from the read model: answers at once however large the batch and however busy the workers.',
        request: { params: batchIdParam },
        responses: {
          200: { description: 'Current status.', content: json(batchStatusResponseSchema) },
          404: noSuchBatch,
        },
        handler: async ({ params, principal }) =>
          ok(await getBatchStatus(deps, principal.accountId, params.batchId)),
      }),
      defineRoute({
        operationId: 'listBatchGraphs',
        method: 'get',
        path: '/v1/batches/{batchId}/graphs',
        tags: ['batches'],
        auth: 'bearer',
        summary: 'A batch’s graphs with their outcomes and per-sink results, in index order, paged',
        description:
          'Paged on the graph index: stable while states change. Query parameters other than those listed are refused (`invalid_request`).',
        request: { params: batchIdParam, query: batchGraphsQuerySchema },
        responses: {
          200: { description: 'One page of graphs.', content: json(batchGraphPageResponseSchema) },
          400: errorResponse(
            'A query value is invalid, unknown or repeated, or `pageToken` is not one this API handed out (`invalid_request`).',
          ),
          404: noSuchBatch,
        },
        handler: async ({ params, query, principal }) =>
          ok(await listBatchGraphs(deps, principal.accountId, params.batchId, query)),
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
        },
        handler: async ({ params, principal }) =>
          ok(await getBatchGraph(deps, principal.accountId, params.batchId, Number(params.index))),
      }),
      defineRoute({
        operationId: 'getBatchOutputThumbnail',
        method: 'get',
        path: '/v1/batches/{batchId}/graphs/{index}/outputs/{outputIndex}/thumbnail',
        tags: ['batches'],
        auth: 'bearer',
        summary: 'A small WebP preview of an output the graph wrote',
        description: `Reads the object the graph's sink wrote (\`outputs/{outputIndex}\` is its position in the outcome's \`sinks\`) through the storage layer with the account's grants, and downscales it. Objects above 32 MiB (or PIXELSHIFT_MAX_SOURCE_BYTES when lower) are refused. Cached in the API process; \`ETag\` and \`If-None-Match\` answer 304 while the object is unchanged.`,
        request: { params: thumbnailParams, query: thumbnailQuery, headers: thumbnailHeaders },
        responses: {
          200: {
            description: 'The thumbnail, with `ETag` and `Cache-Control: private, max-age=300`.',
            headers: z.object({
              ETag: z.string().describe('Changes when the object or the size changes.'),
              'Cache-Control': z.string(),
            }),
            content: { 'image/webp': { schema: z.string().meta({ format: 'binary' }) } },
          },
          304: { description: 'Not modified: the `If-None-Match` ETag is current.' },
          400: errorResponse(
            'An index or `size` is not an integer in range, or an unknown query parameter (`invalid_request`).',
          ),
          403: errorResponse('The output’s bucket is no longer granted to the account (`access_denied`).'),
          404: errorResponse(
            'No such batch for this account, no graph at that index, no output at that position (the sink was not written), or the object is gone (`not_found`).',
          ),
          422: errorResponse(
            'The object is not an image this server decodes (`unsupported_input`), is damaged (`corrupt_input`), or is too large in bytes or pixels (`too_large`).',
          ),
          503: errorResponse('The storage could not be reached (`storage_unavailable`, with `Retry-After`).'),
        },
        handler: async ({ params, query, headers, principal, res }) => {
          const result = await outputThumbnail(
            { db: deps.db, stores: deps.stores, config: deps.config, cache: thumbnails },
            {
              accountId: principal.accountId,
              batchId: params.batchId,
              index: Number(params.index),
              outputIndex: Number(params.outputIndex),
              size: query.size,
              ifNoneMatch: headers['If-None-Match'],
            },
          );
          res.set({ ETag: result.etag, 'Cache-Control': thumbnailCacheControl });
          if (result.notModified) {
            res.status(304).end();
            return;
          }
          res.status(200).type('image/webp').send(result.body);
        },
      }),
      defineRoute({
        operationId: 'retryFailedBatchGraphs',
        method: 'post',
        path: '/v1/batches/{batchId}/retry-failed',
        tags: ['batches'],
        auth: 'bearer',
        summary: 'Retry a finished batch’s failed graphs as a new batch linked to it',
        description:
          'The graphs that failed or wrote only some sinks (`failed`, `partial`), in index order, become a new batch with the same callbackUrl, submitted like any batch: validated again, subject to the throttle, `Idempotency-Key` honoured. The new batch’s status carries `retryOf`.',
        request: { params: batchIdParam, headers: idempotencyHeader },
        responses: {
          201: {
            description:
              'The new batch, accepted and started. `Location` is its status URL; `Idempotent-Replayed: true` when an earlier request with the same key created it.',
            content: json(batchStartReportResponseSchema),
          },
          403: errorResponse('A bucket is no longer granted to the account (`access_denied`).'),
          404: noSuchBatch,
          409: errorResponse(
            'The batch is still running (`batch_running`), none of its graphs failed (`nothing_to_retry`), their definitions are no longer stored (`graphs_unavailable`), or the Idempotency-Key was used for another request (`idempotency_conflict`).',
          ),
          422: errorResponse('The graphs no longer pass validation on this server (`invalid_graph`).'),
          503: storedNotStarted,
        },
        handler: async ({ params, headers, principal }) =>
          started(
            await retryFailedGraphs(deps, {
              accountId: principal.accountId,
              batchId: params.batchId,
              idempotencyKey: headers['Idempotency-Key'],
            }),
          ),
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
