/**
 * Emitting a webhook event from a workflow (docs/architecture.md §11): one activity stores the event and its
 * deliveries, then each delivery runs as its own workflow on the webhooks queue, abandoned by the
 * emitter (a graph or batch finishes without waiting for receivers that may be down for days).
 */
import {
  CancellationScope,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  proxyActivities,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { createActivities } from '../activities/index.js';
import type { WebhookEventType } from '../../core/webhooks/webhook-events.js';
import { accountIdKey } from '../search-attributes.js';
import { publishEventActivityOptions } from './definitions.js';
import { deliveryWorkflow } from './delivery.js';

type Activities = ReturnType<typeof createActivities>;

/** The patch that made graph and batch workflows emit webhook events. */
export const webhookEventsPatch = 'webhook-events';

/**
 * The webhooks queue of the same deployment: queue names are `<prefix>-orchestration`, `<prefix>-imaging`
 * and `<prefix>-webhooks` (src/config/config.ts), so workflows started before the queue was passed in
 * their input still find it.
 */
export function webhooksTaskQueueBeside(orchestrationQueue: string): string {
  return orchestrationQueue.replace(/-orchestration$/, '') + '-webhooks';
}

export interface EmitInput {
  accountId: string;
  type: WebhookEventType;
  batchId?: string | undefined;
  data: unknown;
  webhooksTaskQueue: string;
  /**
   * Whose event this is, for its deterministic ID: the emitting workflow by default; a graph run as an
   * activity of its batch passes its own graph ID, so each of the batch's graphs has events of its own.
   */
  emitterId?: string;
}

/**
 * Never fails the emitter: an outcome is final whether or not its notification could be stored (the
 * activity retries for a while; after that the failure is visible in the history). Not cancellable, so
 * a cancelled batch still announces that it completed.
 */
export async function emitWebhookEvent(input: EmitInput): Promise<void> {
  const { publishWebhookEvent } = proxyActivities<Activities>({
    ...publishEventActivityOptions,
    summary: `publish ${input.type}`,
  });
  const { workflowId, runId } = workflowInfo();
  await CancellationScope.nonCancellable(async () => {
    try {
      const published = await publishWebhookEvent({
        accountId: input.accountId,
        type: input.type,
        workflowId: input.emitterId ?? workflowId,
        runId,
        ...(input.batchId === undefined ? {} : { batchId: input.batchId }),
        data: input.data,
      });
      for (const delivery of published.deliveries) {
        try {
          await startChild(deliveryWorkflow, {
            workflowId: delivery.workflowId,
            taskQueue: input.webhooksTaskQueue,
            args: [{ deliveryId: delivery.deliveryId, summary: delivery.summary }],
            staticSummary: delivery.summary,
            staticDetails: `Delivery ${delivery.deliveryId} of event ${published.eventId}`,
            typedSearchAttributes: [{ key: accountIdKey, value: input.accountId }],
            parentClosePolicy: ParentClosePolicy.ABANDON,
            // A replayed or retried emitter never delivers the same event to the same target twice.
            workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          });
        } catch (error) {
          if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        }
      }
    } catch {
      // Recorded in the history as the failed activity or child start; the outcome stands.
    }
  });
}
