/** The job engine over Temporal: starts, reads and cancels batch workflows and triggered graph runs. */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes.js';
import type { Config } from '../../core/config.js';
import { sourceLabel, summarizeGraph } from '../../core/graph/summary.js';
import {
  accountIdKey,
  batchIdKey,
  sourceKey,
  stateKey,
  triggerIdKey,
  triggerKey,
  visibilityLiteral,
} from '../search-attributes.js';
import {
  batchStatusQuery,
  batchCodeGeneration,
  graphCodeGeneration,
  graphStatusQuery,
  throttleChangedSignal,
} from '../workflows/definitions.js';
import { accountPriority } from '../scheduling.js';
import { batchOfGraphWorkflowId, batchWorkflowId } from '../../core/jobs/workflow-ids.js';
import {
  graphStates,
  type BatchStatus,
  type GraphOutcome,
  type GraphState,
} from '../../core/jobs/job-status.js';
import type { batchWorkflow } from '../workflows/batch.js';
import type { graphWorkflow } from '../workflows/graph.js';
import type {
  BatchJobs,
  EngineReadiness,
  GraphRunQuery,
  GraphRunSummary,
  RunTrigger,
  StartBatchInput,
  StartGraphRunInput,
  ThrottleSignals,
  TriggeredRuns,
  WorkflowLinks,
} from '../../core/jobs/orchestrator-ports.js';

const knownGraphStates = new Set<string>(graphStates);

export interface EngineOptions {
  /**
   * Ask the server to hand each new workflow's first task straight back to this process's orchestration
   * worker (eager workflow start). Only when the client shares its connection with that worker.
   */
  eagerStart?: boolean;
}

/** Signals in flight at once when a limit change wakes many waiting graphs. */
const SIGNAL_CONCURRENCY = 16;

export class TemporalJobEngine
  implements BatchJobs, TriggeredRuns, ThrottleSignals, EngineReadiness, WorkflowLinks
{
  constructor(
    private readonly client: Client,
    /** Without `throttle`, graphs are throttled (the default of the config). */
    private readonly config: Pick<Config, 'temporal'> & Partial<Pick<Config, 'throttle'>>,
    private readonly options: EngineOptions = {},
  ) {}

  async startBatch(input: StartBatchInput): Promise<{ workflowId: string }> {
    const workflowId = batchWorkflowId(input.accountId, input.batchId);
    try {
      await this.client.workflow.start<typeof batchWorkflow>('batchWorkflow', {
        workflowId,
        taskQueue: this.config.temporal.taskQueues.orchestration,
        args: [
          {
            accountId: input.accountId,
            batchId: input.batchId,
            graphCount: input.graphCount,
            imagingTaskQueue: this.config.temporal.taskQueues.imaging,
            ...(input.callbackUrl ? { callbackUrl: input.callbackUrl } : {}),
            ...(this.config.throttle?.enabled === false ? { throttle: false } : {}),
            ...(input.graphsAs === 'activities' ? { graphsAs: 'activities' as const } : {}),
            generation: batchCodeGeneration,
          },
        ],
        // A retried submission joins the running batch; a finished one is never started again.
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        staticSummary: `batch of ${input.graphCount} graph${input.graphCount === 1 ? '' : 's'}`,
        staticDetails: `Batch ${input.batchId} of account ${input.accountId}`,
        typedSearchAttributes: [
          { key: accountIdKey, value: input.accountId },
          { key: batchIdKey, value: input.batchId },
          { key: triggerKey, value: 'api' },
          { key: stateKey, value: 'running' },
        ],
        priority: accountPriority(input.accountId, 'requested'),
        ...this.eager(),
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
    return { workflowId };
  }

  async getBatchStatus(accountId: string, batchId: string): Promise<BatchStatus | undefined> {
    const handle = this.client.workflow.getHandle<typeof batchWorkflow>(batchWorkflowId(accountId, batchId));
    try {
      const description = await handle.describe();
      if (description.status.name === 'COMPLETED') return await handle.result();
      return await handle.query(batchStatusQuery);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
  }

  async getGraphStatus(accountId: string, batchId: string, index: number): Promise<GraphOutcome | undefined> {
    const status = await this.getBatchStatus(accountId, batchId);
    return status?.graphs[index];
  }

  async cancelBatch(accountId: string, batchId: string): Promise<boolean> {
    const handle = this.client.workflow.getHandle(batchWorkflowId(accountId, batchId));
    try {
      const description = await handle.describe();
      if (description.status.name === 'RUNNING') await handle.cancel();
      return true;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  }

  async notifyThrottleChanged(workflowIds: readonly string[]): Promise<void> {
    // A graph run as an activity of its batch has no execution of its own: its batch is woken instead,
    // once however many of its graphs moved.
    const batches = new Set<string>();
    await this.signalEach(workflowIds, (workflowId) => {
      const batch = batchOfGraphWorkflowId(workflowId);
      if (batch) batches.add(batch);
    });
    await this.signalEach([...batches], () => undefined);
  }

  private async signalEach(workflowIds: readonly string[], onNotRunning: (workflowId: string) => void) {
    let next = 0;
    const lane = async () => {
      while (next < workflowIds.length) {
        const workflowId = workflowIds[next++]!;
        try {
          await this.client.workflow.getHandle(workflowId).signal(throttleChangedSignal);
        } catch (error) {
          // Finished (or cancelled) since its slot moved, or never an execution: nothing waits there.
          if (!(error instanceof WorkflowNotFoundError)) throw error;
          onNotRunning(workflowId);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(SIGNAL_CONCURRENCY, workflowIds.length) }, lane));
  }

  async startGraphRun(input: StartGraphRunInput): Promise<{ workflowId: string; started: boolean }> {
    const summary = summarizeGraph(input.graph);
    try {
      await this.client.workflow.start<typeof graphWorkflow>('graphWorkflow', {
        workflowId: input.workflowId,
        taskQueue: this.config.temporal.taskQueues.orchestration,
        args: [
          {
            accountId: input.accountId,
            index: 0,
            graph: input.graph,
            summary,
            imagingTaskQueue: this.config.temporal.taskQueues.imaging,
            ...(input.sourceRevision === undefined ? {} : { sourceRevision: input.sourceRevision }),
            ...(input.skipGeneratedSource ? { skipGeneratedSource: true } : {}),
            ...(this.config.throttle?.enabled === false ? { throttle: false } : {}),
            generation: graphCodeGeneration,
          },
        ],
        // The ID is the deduplication key: a redelivered event never starts a second run, even later.
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        staticSummary: summary,
        staticDetails: `Started by ${input.trigger} ${input.triggerId} for account ${input.accountId}`,
        typedSearchAttributes: [
          { key: accountIdKey, value: input.accountId },
          { key: triggerKey, value: input.trigger },
          { key: triggerIdKey, value: input.triggerId },
          { key: sourceKey, value: sourceLabel(input.graph) },
          // Without a throttle nothing holds a started run back (as in batch.ts).
          { key: stateKey, value: this.config.throttle?.enabled === false ? 'running' : 'queued' },
        ],
        priority: accountPriority(input.accountId, 'triggered'),
        ...this.eager(),
      });
      return { workflowId: input.workflowId, started: true };
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) {
        return { workflowId: input.workflowId, started: false };
      }
      throw error;
    }
  }

  async getGraphRun(accountId: string, workflowId: string): Promise<GraphOutcome | undefined> {
    const handle = this.client.workflow.getHandle<typeof graphWorkflow>(workflowId);
    try {
      const description = await handle.describe();
      // Another account's run is reported exactly like a missing one.
      if (description.typedSearchAttributes.get(accountIdKey) !== accountId) return undefined;
      if (description.type !== 'graphWorkflow') return undefined;
      switch (description.status.name) {
        case 'COMPLETED':
          return await handle.result();
        case 'RUNNING':
          return await handle.query(graphStatusQuery);
        default:
          // Terminated or timed out by an operator: the workflow never produced its own outcome.
          return {
            index: 0,
            workflowId,
            state: description.status.name === 'CANCELLED' ? 'cancelled' : 'failed',
            sinks: [],
            failures: [],
            error: {
              code: description.status.name === 'CANCELLED' ? 'cancelled' : 'internal',
              message: `The run ended as ${description.status.name.toLowerCase()}; see its history in the Temporal UI`,
            },
          };
      }
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
  }

  async listGraphRuns(query: GraphRunQuery): Promise<{ runs: GraphRunSummary[]; nextPageToken?: string }> {
    const clauses = [
      `${accountIdKey.name} = ${visibilityLiteral(query.accountId)}`,
      `${triggerKey.name} = ${visibilityLiteral(query.trigger)}`,
      `WorkflowType = 'graphWorkflow'`,
    ];
    if (query.triggerId) clauses.push(`${triggerIdKey.name} = ${visibilityLiteral(query.triggerId)}`);
    if (query.state) clauses.push(`${stateKey.name} = ${visibilityLiteral(query.state)}`);
    if (query.startedAfter) clauses.push(`StartTime >= ${visibilityLiteral(query.startedAfter)}`);
    if (query.startedBefore) clauses.push(`StartTime < ${visibilityLiteral(query.startedBefore)}`);
    const response = await this.client.workflowService.listWorkflowExecutions({
      namespace: this.config.temporal.namespace,
      pageSize: query.pageSize,
      // No ORDER BY: SQL visibility stores (the dev server, PostgreSQL, SQLite) refuse it. Their own order
      // is running runs first, then by close time, newest first; Elasticsearch's default is close too.
      query: clauses.join(' AND '),
      ...(query.pageToken ? { nextPageToken: Buffer.from(query.pageToken, 'base64url') } : {}),
    });
    const runs = response.executions.map((execution): GraphRunSummary => {
      const attributes = decodeTypedSearchAttributes(execution.searchAttributes?.indexedFields);
      const state = attributes.get(stateKey) ?? 'queued';
      const closedAt = timestampToIso(execution.closeTime);
      return {
        workflowId: execution.execution?.workflowId ?? '',
        trigger: (attributes.get(triggerKey) ?? query.trigger) as RunTrigger,
        triggerId: attributes.get(triggerIdKey) ?? '',
        source: attributes.get(sourceKey) ?? '',
        state: (knownGraphStates.has(state) ? state : 'queued') as GraphState,
        startedAt: timestampToIso(execution.startTime) ?? '',
        ...(closedAt ? { closedAt } : {}),
      };
    });
    const token = response.nextPageToken;
    return token && token.length > 0
      ? { runs, nextPageToken: Buffer.from(token).toString('base64url') }
      : { runs };
  }

  private eager(): { requestEagerStart?: true } {
    return this.options.eagerStart ? { requestEagerStart: true } : {};
  }

  uiUrl(workflowId: string): string | undefined {
    const base = this.config.temporal.uiUrl;
    if (!base) return undefined;
    return `${base}/namespaces/${encodeURIComponent(this.config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  }

  async ping(): Promise<void> {
    await this.client.connection.workflowService.getSystemInfo({});
  }
}

function timestampToIso(
  timestamp: { seconds?: { toNumber(): number } | number | null; nanos?: number | null } | null | undefined,
): string | undefined {
  if (!timestamp?.seconds) return undefined;
  const seconds = typeof timestamp.seconds === 'number' ? timestamp.seconds : timestamp.seconds.toNumber();
  return new Date(seconds * 1000 + Math.floor((timestamp.nanos ?? 0) / 1e6)).toISOString();
}
