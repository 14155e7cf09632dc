import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { BatchOrchestrator } from '../../orchestration/types.js';
import type { GraphOutcome } from '../../workflows/status.js';
import { notFound } from '../api-error.js';
import { callOrchestrator } from '../orchestrator-call.js';
import type { BatchStatusResponse, GraphOutcomeResponse } from '../schemas.js';
import { findOwnBatch } from './batch-lookup.js';

export interface BatchQueryDeps {
  db: Db;
  orchestrator: BatchOrchestrator;
  logger?: Logger | undefined;
}

/** Counts per state and every graph's outcome with per-sink results, as the batch workflow reports them. */
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
  return {
    ...status,
    graphs: status.graphs.map((graph) => withUiLink(deps.orchestrator, graph)),
    ...uiLink(deps.orchestrator, status.workflowId),
  };
}

export function withUiLink(orchestrator: BatchOrchestrator, graph: GraphOutcome): GraphOutcomeResponse {
  return { ...graph, ...uiLink(orchestrator, graph.workflowId) };
}

function uiLink(orchestrator: BatchOrchestrator, workflowId: string): { temporalUiUrl?: string } {
  const url = orchestrator.uiUrl(workflowId);
  return url === undefined ? {} : { temporalUiUrl: url };
}
