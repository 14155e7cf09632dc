import { sourceLabel } from '../../src/core/graph/summary.js';
import type {
  JobEngine,
  GraphRunQuery,
  GraphRunSummary,
  StartBatchInput,
  StartGraphRunInput,
} from '../../src/core/jobs/orchestrator-ports.js';
import { batchWorkflowId, graphWorkflowId } from '../../src/core/jobs/workflow-ids.js';
import { emptyCounts, type BatchStatus, type GraphOutcome } from '../../src/core/jobs/job-status.js';

export type FakeCall =
  | { method: 'startBatch'; input: StartBatchInput }
  | { method: 'getBatchStatus' | 'cancelBatch'; accountId: string; batchId: string }
  | { method: 'getGraphStatus'; accountId: string; batchId: string; index: number }
  | { method: 'notifyThrottleChanged'; workflowIds: string[] }
  | { method: 'startGraphRun'; input: StartGraphRunInput }
  | { method: 'ping' };

/**
 * An in-memory job engine (every port) for API tests: it records every call, starts each workflow ID once (like
 * Temporal's ID conflict policy), and lets a test make the engine fail or answer slowly.
 */
export class FakeOrchestrator implements JobEngine {
  readonly calls: FakeCall[] = [];
  /** workflowId → the input of the call that started it. */
  readonly started = new Map<string, StartBatchInput>();
  readonly statuses = new Map<string, BatchStatus>();
  /** Triggered runs by workflow ID, in start order: each ID starts once, like REJECT_DUPLICATE. */
  readonly graphRuns = new Map<
    string,
    { input: StartGraphRunInput; outcome: GraphOutcome; startedAt: string }
  >();
  /** How many of the next startBatch calls throw (Temporal unreachable). */
  failNextStarts = 0;
  /** Makes every call throw (Temporal down). */
  down = false;
  /** Delay before startBatch answers, so concurrent requests overlap. */
  startDelayMs = 0;

  constructor(private readonly uiBaseUrl?: string) {}

  async startBatch(input: StartBatchInput): Promise<{ workflowId: string }> {
    this.calls.push({ method: 'startBatch', input });
    if (this.startDelayMs) await new Promise((resolve) => setTimeout(resolve, this.startDelayMs));
    await this.reachable();
    if (this.failNextStarts > 0) {
      this.failNextStarts -= 1;
      throw new Error('connect ECONNREFUSED 127.0.0.1:7233 (fake)');
    }
    const workflowId = batchWorkflowId(input.accountId, input.batchId);
    if (!this.started.has(workflowId)) {
      this.started.set(workflowId, input);
      this.statuses.set(workflowId, initialStatus(input, workflowId));
    }
    return { workflowId };
  }

  async getBatchStatus(accountId: string, batchId: string): Promise<BatchStatus | undefined> {
    this.calls.push({ method: 'getBatchStatus', accountId, batchId });
    await this.reachable();
    return this.statuses.get(batchWorkflowId(accountId, batchId));
  }

  async getGraphStatus(accountId: string, batchId: string, index: number): Promise<GraphOutcome | undefined> {
    this.calls.push({ method: 'getGraphStatus', accountId, batchId, index });
    await this.reachable();
    return this.statuses.get(batchWorkflowId(accountId, batchId))?.graphs[index];
  }

  async cancelBatch(accountId: string, batchId: string): Promise<boolean> {
    this.calls.push({ method: 'cancelBatch', accountId, batchId });
    await this.reachable();
    const status = this.statuses.get(batchWorkflowId(accountId, batchId));
    if (!status) return false;
    status.state = 'cancelled';
    return true;
  }

  async notifyThrottleChanged(workflowIds: readonly string[]): Promise<void> {
    this.calls.push({ method: 'notifyThrottleChanged', workflowIds: [...workflowIds] });
    await this.reachable();
  }

  /** Every workflow told that its throttle slot moved, in order. */
  notifiedWorkflows(): string[] {
    return this.calls.flatMap((call) => (call.method === 'notifyThrottleChanged' ? call.workflowIds : []));
  }

  async startGraphRun(input: StartGraphRunInput): Promise<{ workflowId: string; started: boolean }> {
    this.calls.push({ method: 'startGraphRun', input });
    if (this.startDelayMs) await new Promise((resolve) => setTimeout(resolve, this.startDelayMs));
    await this.reachable();
    if (this.failNextStarts > 0) {
      this.failNextStarts -= 1;
      throw new Error('connect ECONNREFUSED 127.0.0.1:7233 (fake)');
    }
    if (this.graphRuns.has(input.workflowId)) return { workflowId: input.workflowId, started: false };
    this.graphRuns.set(input.workflowId, {
      input,
      outcome: { index: 0, workflowId: input.workflowId, state: 'queued', sinks: [], failures: [] },
      startedAt: new Date().toISOString(),
    });
    return { workflowId: input.workflowId, started: true };
  }

  async getGraphRun(accountId: string, workflowId: string): Promise<GraphOutcome | undefined> {
    await this.reachable();
    const run = this.graphRuns.get(workflowId);
    return run && run.input.accountId === accountId ? run.outcome : undefined;
  }

  async listGraphRuns(query: GraphRunQuery): Promise<{ runs: GraphRunSummary[]; nextPageToken?: string }> {
    await this.reachable();
    const matching = [...this.graphRuns.values()]
      .filter(
        ({ input, outcome, startedAt }) =>
          input.accountId === query.accountId &&
          input.trigger === query.trigger &&
          (!query.triggerId || input.triggerId === query.triggerId) &&
          (!query.state || outcome.state === query.state) &&
          (!query.startedAfter || startedAt >= query.startedAfter) &&
          (!query.startedBefore || startedAt < query.startedBefore),
      )
      .reverse();
    const offset = query.pageToken ? Number(query.pageToken) : 0;
    const page = matching
      .slice(offset, offset + query.pageSize)
      .map(({ input, outcome, startedAt }): GraphRunSummary => ({
        workflowId: input.workflowId,
        trigger: input.trigger,
        triggerId: input.triggerId,
        source: sourceLabel(input.graph),
        state: outcome.state,
        startedAt,
      }));
    const next = offset + query.pageSize;
    return next < matching.length ? { runs: page, nextPageToken: String(next) } : { runs: page };
  }

  /** Triggered runs started, in order. */
  startedGraphRuns(): StartGraphRunInput[] {
    return [...this.graphRuns.values()].map((run) => run.input);
  }

  uiUrl(workflowId: string): string | undefined {
    return this.uiBaseUrl === undefined
      ? undefined
      : `${this.uiBaseUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`;
  }

  async ping(): Promise<void> {
    this.calls.push({ method: 'ping' });
    await this.reachable();
  }

  /** Calls that change something in the engine (what "nothing was started" is about). */
  startCalls(): StartBatchInput[] {
    return this.calls.flatMap((call) => (call.method === 'startBatch' ? [call.input] : []));
  }

  /** Answers asynchronously, like a network call, and fails like one while `down`. */
  private async reachable(): Promise<void> {
    await Promise.resolve();
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:7233 (fake)');
  }
}

function initialStatus(input: StartBatchInput, workflowId: string): BatchStatus {
  return {
    accountId: input.accountId,
    batchId: input.batchId,
    workflowId,
    state: 'running',
    graphCount: input.graphCount,
    counts: { ...emptyCounts(), queued: input.graphCount },
    graphs: Array.from({ length: input.graphCount }, (_, index) => ({
      index,
      workflowId: graphWorkflowId(input.accountId, input.batchId, index),
      state: 'queued' as const,
      sinks: [],
      failures: [],
    })),
    createdAt: new Date().toISOString(),
  };
}
