/**
 * Triggered runs (rules and inbound hooks): `GET /v1/runs` and `GET /v1/events/s3/runs` list an account's
 * runs, `GET /v1/runs/{runId}` reads one run's outcome, whatever started it. `runId` is the workflow ID,
 * URI-encoded into one path segment. Everything is read from the read model (docs/architecture.md §7):
 * no request waits for Temporal.
 */
import type { Config } from '../../core/config.js';
import type { WorkflowLinks } from '../../core/jobs/orchestrator-ports.js';
import type { Db } from '../../db/database.js';
import {
  getGraphRun,
  graphOutcomeOf,
  listTriggeredRuns,
  type TriggeredRunFilter,
} from '../../db/graph-runs.js';
import type { GraphRunRow } from '../../db/schema.js';
import { ApiError } from '../../api/api-error.js';
import { keysetPage } from '../../api/page-token.js';
import type { AllRunsQuery, RunListQuery, RunListResponse, RunResponse } from './runs.schemas.js';

export interface RunDeps {
  db: Db;
  orchestrator: WorkflowLinks;
  config: Pick<Config, 'http'>;
}

/** Workflow IDs are at most 1000 bytes in Temporal; longer path segments are not one of ours. */
export const MAX_WORKFLOW_ID_LENGTH = 1000;

/** The status URL of a triggered run: what ingress and inbound hooks hand back to their callers. */
export function runStatusUrl(config: Pick<Config, 'http'>, workflowId: string): string {
  return `${config.http.publicUrl?.replace(/\/+$/, '') ?? ''}/v1/runs/${encodeURIComponent(workflowId)}`;
}

export function listS3Runs(deps: RunDeps, accountId: string, query: RunListQuery): Promise<RunListResponse> {
  return listRuns(deps, accountId, { ...query, trigger: 's3' });
}

/** `query` is validated; its `pageToken` is already the sequence number the previous page ended at. */
export async function listRuns(
  deps: RunDeps,
  accountId: string,
  query: AllRunsQuery,
): Promise<RunListResponse> {
  const { rule, hook, state, since, until, pageSize, pageToken } = query;
  // A rule only starts bucket-event runs and a hook only webhook runs: asking for both finds nothing.
  const trigger = query.trigger ?? (rule ? 's3' : hook ? 'webhook' : undefined);
  if ((rule && trigger !== 's3') || (hook && trigger !== 'webhook')) return { runs: [] };
  const filter: Omit<TriggeredRunFilter, 'trigger'> = {
    accountId,
    triggerId: rule ?? hook,
    state,
    since: since ? new Date(since) : undefined,
    until: until ? new Date(until) : undefined,
    beforeSeq: pageToken,
    // One more than asked: whether a next page exists, without a count.
    limit: pageSize + 1,
  };
  const rows = await listTriggeredRuns(deps.db, { ...filter, ...(trigger ? { trigger } : {}) });
  const page = keysetPage(rows, pageSize, (row) => row.seq);
  return {
    runs: page.rows.map((row) => runSummaryOf(deps, row)),
    ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
  };
}

function runSummaryOf(deps: RunDeps, row: GraphRunRow): RunListResponse['runs'][number] {
  const temporalUiUrl = deps.orchestrator.uiUrl(row.workflowId);
  const trigger = row.trigger === 'webhook' ? 'webhook' : 's3';
  return {
    runId: encodeURIComponent(row.workflowId),
    workflowId: row.workflowId,
    trigger,
    ...(row.triggerId ? (trigger === 's3' ? { ruleId: row.triggerId } : { hookId: row.triggerId }) : {}),
    source: row.source,
    ...(row.sourceVersion ? { sourceVersion: row.sourceVersion } : {}),
    state: row.state,
    startedAt: row.createdAt.toISOString(),
    ...(row.finishedAt ? { closedAt: row.finishedAt.toISOString() } : {}),
    statusUrl: runStatusUrl(deps.config, row.workflowId),
    ...(temporalUiUrl ? { temporalUiUrl } : {}),
  };
}

/** `workflowId` is the decoded path segment. Another account's run is reported like a missing one. */
export async function getRun(deps: RunDeps, accountId: string, workflowId: string): Promise<RunResponse> {
  const row =
    workflowId.length === 0 || workflowId.length > MAX_WORKFLOW_ID_LENGTH
      ? undefined
      : await getGraphRun(deps.db, accountId, workflowId);
  // Batch graphs are read through their batch; this endpoint is for triggered runs.
  if (!row || row.trigger === 'api') throw new ApiError(404, 'run_not_found', 'No such run for this account');
  const temporalUiUrl = deps.orchestrator.uiUrl(workflowId);
  return {
    ...graphOutcomeOf(row),
    runId: encodeURIComponent(workflowId),
    statusUrl: runStatusUrl(deps.config, workflowId),
    ...(temporalUiUrl ? { temporalUiUrl } : {}),
  };
}
