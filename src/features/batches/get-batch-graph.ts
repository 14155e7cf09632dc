import { getBatchGraph as loadBatchGraph } from '../../db/batches.js';
import { getBatchGraphRun, graphOutcomeOf } from '../../db/graph-runs.js';
import { notFound } from '../../api/api-error.js';
import type { BatchGraphResponse } from './batches.schemas.js';
import { findStartedBatch, withUiLink, type BatchQueryDeps } from './get-batch-status.js';

/** One graph of a batch as submitted, with its outcome so far from the read model. */
export async function getBatchGraph(
  deps: BatchQueryDeps,
  accountId: string,
  batchId: string,
  index: number,
): Promise<BatchGraphResponse> {
  const batch = await findStartedBatch(deps.db, accountId, batchId);
  const graph =
    index < batch.graphCount ? await loadBatchGraph(deps.db, accountId, batch.id, index) : undefined;
  if (!graph) throw notFound(`Graph ${index} of batch ${JSON.stringify(batch.id)}`);
  const row = await getBatchGraphRun(deps.db, batch.id, index);
  return {
    batchId: batch.id,
    index,
    graph,
    ...(row === undefined ? {} : { outcome: withUiLink(deps.orchestrator, batch, graphOutcomeOf(row)) }),
  };
}
