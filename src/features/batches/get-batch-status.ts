import type { Config } from '../../core/config.js';
import type { WorkflowLinks } from '../../core/jobs/orchestrator-ports.js';
import { batchWorkflowId } from '../../core/jobs/workflow-ids.js';
import type { GraphOutcome } from '../../core/jobs/job-status.js';
import type { Db } from '../../db/database.js';
import { batchProgress, graphOutcomeOf, listBatchGraphRuns } from '../../db/graph-runs.js';
import type { BatchRow } from '../../db/schema.js';
import { notFound } from '../../api/api-error.js';
import { keysetPage } from '../../api/page-token.js';
import type {
  BatchGraphPageResponse,
  BatchGraphsQuery,
  BatchStatusResponse,
  GraphOutcomeResponse,
} from './batches.schemas.js';
import { findOwnBatch } from './batch-lookup.js';
import { runningBatchOutlook } from '../account/throttle-view.js';

export interface BatchQueryDeps {
  db: Db;
  orchestrator: WorkflowLinks;
  config: Pick<Config, 'throttle'>;
}

/**
 * Counts per state and links, from the read model (docs/architecture.md §7): two indexed reads, whatever
 * the batch's size and however busy the workers are. While it runs, the throttle outlook says when its
 * last graph is expected to start.
 */
export async function getBatchStatus(
  deps: BatchQueryDeps,
  accountId: string,
  batchId: string,
): Promise<BatchStatusResponse> {
  const batch = await findStartedBatch(deps.db, accountId, batchId);
  const { counts, lastThrottledUntil } = await batchProgress(deps.db, batch.id);
  const workflowId = batchWorkflowId(accountId, batch.id);
  const outlook =
    batch.state === 'running'
      ? await runningBatchOutlook(deps, accountId, { unstarted: counts.queued, lastSlot: lastThrottledUntil })
      : undefined;
  return {
    accountId,
    batchId: batch.id,
    workflowId,
    state: batch.state,
    graphCount: batch.graphCount,
    counts,
    createdAt: batch.createdAt.toISOString(),
    ...(batch.finishedAt ? { finishedAt: batch.finishedAt.toISOString() } : {}),
    ...uiLink(deps.orchestrator, workflowId),
    ...(outlook ? { throttle: outlook } : {}),
    ...(batch.retryOf ? { retryOf: batch.retryOf } : {}),
    links: { graphs: `/v1/batches/${batch.id}/graphs` },
  };
}

/** One page of the batch's graphs in index order; the token carries the last index shown (keyset). */
export async function listBatchGraphs(
  deps: BatchQueryDeps,
  accountId: string,
  batchId: string,
  query: BatchGraphsQuery,
): Promise<BatchGraphPageResponse> {
  const batch = await findStartedBatch(deps.db, accountId, batchId);
  const rows = await listBatchGraphRuns(deps.db, batch.id, {
    state: query.state,
    afterIndex: query.pageToken,
    limit: query.pageSize + 1,
  });
  // Every batch row carries its index (a check constraint ties it to batch_id).
  const page = keysetPage(rows, query.pageSize, (row) => row.graphIndex ?? 0);
  return {
    graphs: page.rows.map((row) => withUiLink(deps.orchestrator, batch, graphOutcomeOf(row))),
    ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
  };
}

/** The caller's batch once its workflow has started: stored but never started, it does not exist yet. */
export async function findStartedBatch(db: Db, accountId: string, batchId: string): Promise<BatchRow> {
  const batch = await findOwnBatch(db, accountId, batchId);
  if (!batch.startedAt) throw notFound(`Batch ${JSON.stringify(batch.id)}`);
  return batch;
}

/**
 * A graph's Temporal UI link: its own execution, or, when its batch runs graphs as activities, the batch's
 * execution, where the graph is the activity `graph-<index>`.
 */
export function withUiLink(
  orchestrator: WorkflowLinks,
  batch: Pick<BatchRow, 'accountId' | 'id' | 'graphsAs'>,
  graph: GraphOutcome,
): GraphOutcomeResponse {
  const execution =
    batch.graphsAs === 'activities' ? batchWorkflowId(batch.accountId, batch.id) : graph.workflowId;
  return { ...graph, ...uiLink(orchestrator, execution) };
}

function uiLink(orchestrator: WorkflowLinks, workflowId: string): { temporalUiUrl?: string } {
  const url = orchestrator.uiUrl(workflowId);
  return url === undefined ? {} : { temporalUiUrl: url };
}
