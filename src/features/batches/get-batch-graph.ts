import { getBatchGraph as loadBatchGraph } from '../../db/batches.js';
import { ApiError, notFound } from '../../api/api-error.js';
import { callOrchestrator } from '../../api/orchestrator-call.js';
import type { BatchGraphResponse } from '../../api/schemas.js';
import { findOwnBatch } from './batch-lookup.js';
import { withUiLink, type BatchQueryDeps } from './get-batch-status.js';
import { withThrottleState } from '../account/throttle-view.js';

/** Canonical decimal only: "01", "1.0", "-1" and "1e3" are not graph indexes. */
const indexPattern = /^(?:0|[1-9][0-9]{0,8})$/;

/** One graph of a batch as submitted, with its outcome once the graph workflow has reported. */
export async function getBatchGraph(
  deps: BatchQueryDeps,
  accountId: string,
  batchId: string,
  rawIndex: string,
): Promise<BatchGraphResponse> {
  if (!indexPattern.test(rawIndex)) {
    throw new ApiError(
      400,
      'invalid_request',
      `Expected a graph index (a non-negative integer) for index but received ${JSON.stringify(rawIndex.slice(0, 32))}`,
    );
  }
  const index = Number(rawIndex);
  const batch = await findOwnBatch(deps.db, accountId, batchId);
  const graph =
    index < batch.graphCount ? await loadBatchGraph(deps.db, accountId, batch.id, index) : undefined;
  if (!graph) throw notFound(`Graph ${index} of batch ${JSON.stringify(batch.id)}`);
  const outcome = await callOrchestrator(
    'read the graph status',
    () => deps.orchestrator.getGraphStatus(accountId, batch.id, index),
    deps.logger,
  );
  const shown = outcome && (await withThrottleState(deps, accountId, [outcome])).graphs[0];
  return {
    batchId: batch.id,
    index,
    graph,
    ...(shown === undefined ? {} : { outcome: withUiLink(deps.orchestrator, shown) }),
  };
}
