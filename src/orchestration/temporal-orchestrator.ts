/** BatchOrchestrator over Temporal: starts, reads and cancels batch workflows. */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { Config } from '../config/config.js';
import { accountIdKey, batchIdKey, stateKey, triggerKey } from '../temporal/search-attributes.js';
import { batchStatusQuery, throttleChangedSignal } from '../workflows/definitions.js';
import { batchWorkflowId } from '../workflows/ids.js';
import type { BatchStatus, GraphOutcome } from '../workflows/status.js';
import type { batchWorkflow } from '../workflows/batch.js';
import type { BatchOrchestrator, StartBatchInput } from './types.js';

/** Signals in flight at once when a limit change wakes many waiting graphs. */
const SIGNAL_CONCURRENCY = 16;

export class TemporalBatchOrchestrator implements BatchOrchestrator {
  constructor(
    private readonly client: Client,
    /** Without `throttle`, graphs are throttled (the default of the config). */
    private readonly config: Pick<Config, 'temporal'> & Partial<Pick<Config, 'throttle'>>,
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
    let next = 0;
    const lane = async () => {
      while (next < workflowIds.length) {
        const workflowId = workflowIds[next++]!;
        try {
          await this.client.workflow.getHandle(workflowId).signal(throttleChangedSignal);
        } catch (error) {
          // Finished (or cancelled) since its slot moved: nothing is waiting any more.
          if (!(error instanceof WorkflowNotFoundError)) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(SIGNAL_CONCURRENCY, workflowIds.length) }, lane));
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
