/**
 * Triggered runs (rules now, inbound hooks later): `GET /v1/events/s3/runs` lists an account's
 * S3-triggered runs from Temporal's visibility store; `GET /v1/runs/{runId}` reads one run's outcome,
 * whatever started it. `runId` is the workflow ID, URI-encoded into one path segment.
 */
import type { Logger } from 'pino';
import type { Config } from '../../core/config.js';
import type { TriggeredRuns, WorkflowLinks } from '../../core/jobs/orchestrator-ports.js';
import { ApiError } from '../../api/api-error.js';
import { callOrchestrator } from '../../api/orchestrator-call.js';
import { encodeRunPageToken } from './run-page-token.js';
import type { RunListQuery, RunListResponse, RunResponse } from './runs.schemas.js';

export interface RunDeps {
  orchestrator: Pick<TriggeredRuns, 'getGraphRun' | 'listGraphRuns'> & WorkflowLinks;
  config: Pick<Config, 'http'>;
  logger?: Logger | undefined;
}

/** Workflow IDs are at most 1000 bytes in Temporal; longer path segments are not one of ours. */
const MAX_WORKFLOW_ID_LENGTH = 1000;

/** The status URL of a triggered run: what ingress and inbound hooks hand back to their callers. */
export function runStatusUrl(config: Pick<Config, 'http'>, workflowId: string): string {
  return `${config.http.publicUrl?.replace(/\/+$/, '') ?? ''}/v1/runs/${encodeURIComponent(workflowId)}`;
}

/** `query` is validated; its `pageToken` is already the job engine's own (see run-page-token.ts). */
export async function listS3Runs(
  deps: RunDeps,
  accountId: string,
  query: RunListQuery,
): Promise<RunListResponse> {
  const { rule, state, since, until, pageSize, pageToken } = query;
  const page = await callOrchestrator(
    'list the runs',
    () =>
      deps.orchestrator.listGraphRuns({
        accountId,
        trigger: 's3',
        pageSize,
        ...(rule ? { triggerId: rule } : {}),
        ...(state ? { state } : {}),
        ...(since ? { startedAfter: new Date(since).toISOString() } : {}),
        ...(until ? { startedBefore: new Date(until).toISOString() } : {}),
        ...(pageToken ? { pageToken } : {}),
      }),
    deps.logger,
  );
  return {
    runs: page.runs.map((run) => {
      const temporalUiUrl = deps.orchestrator.uiUrl(run.workflowId);
      return {
        runId: encodeURIComponent(run.workflowId),
        workflowId: run.workflowId,
        ruleId: run.triggerId,
        source: run.source,
        state: run.state,
        startedAt: run.startedAt,
        ...(run.closedAt ? { closedAt: run.closedAt } : {}),
        statusUrl: runStatusUrl(deps.config, run.workflowId),
        ...(temporalUiUrl ? { temporalUiUrl } : {}),
      };
    }),
    ...(page.nextPageToken ? { nextPageToken: encodeRunPageToken(page.nextPageToken) } : {}),
  };
}

/** `workflowId` is the decoded path segment. Another account's run is reported like a missing one. */
export async function getRun(deps: RunDeps, accountId: string, workflowId: string): Promise<RunResponse> {
  const outcome =
    workflowId.length === 0 || workflowId.length > MAX_WORKFLOW_ID_LENGTH
      ? undefined
      : await callOrchestrator(
          'read the run',
          () => deps.orchestrator.getGraphRun(accountId, workflowId),
          deps.logger,
        );
  if (!outcome) throw new ApiError(404, 'run_not_found', 'No such run for this account');
  const temporalUiUrl = deps.orchestrator.uiUrl(workflowId);
  return {
    ...outcome,
    runId: encodeURIComponent(workflowId),
    statusUrl: runStatusUrl(deps.config, workflowId),
    ...(temporalUiUrl ? { temporalUiUrl } : {}),
  };
}
