/**
 * Starting a delivery workflow from outside a workflow (the API's redeliver endpoint). Deliveries that
 * events cause are started by the emitting workflow itself (src/workflows/webhook-events.ts).
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { Config } from '../../core/config.js';
import { accountIdKey } from '../search-attributes.js';
import { accountPriority } from '../scheduling.js';
import type { DeliveryStarter, StartDeliveryInput } from '../../core/jobs/orchestrator-ports.js';
import type { deliveryWorkflow } from '../workflows/delivery.js';

export class TemporalDeliveryStarter implements DeliveryStarter {
  constructor(
    private readonly client: Client,
    private readonly config: Pick<Config, 'temporal'>,
  ) {}

  async startDelivery(input: StartDeliveryInput): Promise<boolean> {
    try {
      await this.client.workflow.start<typeof deliveryWorkflow>('deliveryWorkflow', {
        workflowId: input.workflowId,
        taskQueue: this.config.temporal.taskQueues.webhooks,
        args: [{ deliveryId: input.deliveryId, summary: input.summary }],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        staticSummary: input.summary,
        staticDetails: `Redelivery ${input.deliveryId}`,
        typedSearchAttributes: [{ key: accountIdKey, value: input.accountId }],
        priority: accountPriority(input.accountId, 'requested'),
      });
      return true;
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) return false;
      throw error;
    }
  }
}
