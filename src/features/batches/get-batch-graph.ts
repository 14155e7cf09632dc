import { getBatchGraph as loadBatchGraph } from '../../db/batches.js';
import { notFound } from '../../api/api-error.js';
import { callOrchestrator } from '../../api/orchestrator-call.js';
import type { BatchGraphResponse } from './batches.schemas.js';
import { findOwnBatch } from './batch-lookup.js';
import { withUiLink, type BatchQueryDeps } from './get-batch-status.js';
import { withThrottleState } from '../account/throttle-view.js';

/** One graph of a batch as submitted, with its outcome once the graph workflow has reported. */
export async function getBatchGraph(
  deps: BatchQueryDeps,
  accountId: string,
  batchId: string,
  index: number,
): Promise<BatchGraphResponse> {
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
