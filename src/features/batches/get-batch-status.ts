import type { Logger } from 'pino';
import type { Config } from '../../core/config.js';
import type { Db } from '../../db/database.js';
import type { BatchJobs, WorkflowLinks } from '../../core/jobs/orchestrator-ports.js';
import { emptyCounts, type GraphOutcome } from '../../core/jobs/job-status.js';
import { notFound } from '../../api/api-error.js';
import { callOrchestrator } from '../../api/orchestrator-call.js';
import type { BatchStatusResponse, GraphOutcomeResponse } from './batches.schemas.js';
import { findOwnBatch } from './batch-lookup.js';
import { runningBatchView } from '../account/throttle-view.js';

export interface BatchQueryDeps {
  db: Db;
  orchestrator: BatchJobs & WorkflowLinks;
  config: Pick<Config, 'throttle'>;
  logger?: Logger | undefined;
}

/**
 * Counts per state and every graph's outcome with per-sink results, as the batch workflow reports them;
 * while it runs, graphs waiting for their throttle slot are shown as such, with the throttle outlook.
 */
export async function getBatchStatus(
  deps: BatchQueryDeps,
  accountId: string,
  batchId: string,
): Promise<BatchStatusResponse> {
  const batch = await findOwnBatch(deps.db, accountId, batchId);
  const status = await callOrchestrator(
    'read the batch status',
    () => deps.orchestrator.getBatchStatus(accountId, batch.id),
    deps.logger,
  );
  // Stored but never started (its start failed with 503): for the client it does not exist yet.
  if (!status) throw notFound(`Batch ${JSON.stringify(batch.id)}`);
  if (status.state !== 'running') {
    return {
      ...status,
      // Batches finished before a state was added recorded no count for it.
      counts: { ...emptyCounts(), ...status.counts },
      graphs: status.graphs.map((graph) => withUiLink(deps.orchestrator, graph)),
      ...uiLink(deps.orchestrator, status.workflowId),
    };
  }
  const { graphs, outlook } = await runningBatchView(deps, accountId, status.graphs);
  const counts = emptyCounts();
  for (const graph of graphs) counts[graph.state] += 1;
  return {
    ...status,
    counts,
    graphs: graphs.map((graph) => withUiLink(deps.orchestrator, graph)),
    ...uiLink(deps.orchestrator, status.workflowId),
    ...(outlook ? { throttle: outlook } : {}),
  };
}

export function withUiLink(orchestrator: WorkflowLinks, graph: GraphOutcome): GraphOutcomeResponse {
  return { ...graph, ...uiLink(orchestrator, graph.workflowId) };
}

function uiLink(orchestrator: WorkflowLinks, workflowId: string): { temporalUiUrl?: string } {
  const url = orchestrator.uiUrl(workflowId);
  return url === undefined ? {} : { temporalUiUrl: url };
}
