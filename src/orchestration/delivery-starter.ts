/**
 * Starting a delivery workflow from outside a workflow (the API's redeliver endpoint). Deliveries that
 * events cause are started by the emitting workflow itself (src/workflows/webhook-events.ts).
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { Config } from '../config/config.js';
import { accountIdKey } from '../temporal/search-attributes.js';
import type { deliveryWorkflow } from '../workflows/delivery.js';

export interface StartDeliveryInput {
  accountId: string;
  workflowId: string;
  deliveryId: string;
  summary: string;
}

export interface DeliveryStarter {
  /** Starts the delivery once; false when a workflow with that ID already exists. */
  startDelivery(input: StartDeliveryInput): Promise<boolean>;
}

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
      });
      return true;
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) return false;
      throw error;
    }
  }
}
