/**
 * "Retry failed graphs" (`POST /v1/batches/{batchId}/retry-failed`): a new batch of the graphs of a
 * finished batch that did not write every sink, submitted through the same use-case as any batch
 * (validation against today's limits and grants, the throttle, Idempotency-Key, the callbackUrl), and
 * linked to the original by `retryOf`.
 */
import { failedBatchGraphs } from '../../db/batches.js';
import type { TransformGraph } from '../../core/graph/graph.js';
import { ApiError } from '../../api/api-error.js';
import { findStartedBatch } from './get-batch-status.js';
import { parseBatch, submitBatch, type SubmitBatchDeps, type SubmitBatchResult } from './submit-batch.js';

export interface RetryFailedRequest {
  accountId: string;
  batchId: string;
  idempotencyKey?: string | undefined;
}

/**
 * Retries the `failed` and `partial` graphs of the batch, in index order, as a new batch. A partial
 * graph runs whole again: its sinks hang off one decoded source, and writing the good ones again
 * overwrites them with the same bytes.
 */
export async function retryFailedGraphs(
  deps: SubmitBatchDeps,
  request: RetryFailedRequest,
): Promise<SubmitBatchResult> {
  const original = await findStartedBatch(deps.db, request.accountId, request.batchId);
  if (original.state === 'running') {
    throw new ApiError(
      409,
      'batch_running',
      'The batch is still running: retry its failed graphs once it has finished (or cancel it first)',
    );
  }
  const failed = await failedBatchGraphs(deps.db, request.accountId, original.id);
  if (failed.length === 0) {
    throw new ApiError(
      409,
      'nothing_to_retry',
      `No graph of batch ${original.id} failed: there is nothing to retry`,
    );
  }
  const graphs = failed.map((entry) => entry.graph).filter((graph): graph is TransformGraph => !!graph);
  if (graphs.length < failed.length) {
    throw new ApiError(
      409,
      'graphs_unavailable',
      `The definitions of the failed graphs of batch ${original.id} are no longer stored (it was rebuilt from the job engine's history); submit them again`,
    );
  }
  // Checked again as a new submission: limits and grants may have changed since the original.
  const batch = parseBatch(deps.config, {
    graphs,
    ...(original.callbackUrl === null ? {} : { callbackUrl: original.callbackUrl }),
  });
  return submitBatch(deps, {
    accountId: request.accountId,
    batch,
    idempotencyKey: request.idempotencyKey,
    retryOf: original.id,
  });
}
