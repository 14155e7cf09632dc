/**
 * An experiment, not product code (bench/shapes.ts): a batch's graphs run as imaging activities of one
 * workflow, without a child workflow per graph, so that what a child workflow costs can be measured
 * against the real batch on the same graphs. The activity is the real `runGraph`, reading each graph by
 * reference and writing the read model as it does for a batch graph without a throttle.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../../src/temporal/activities/index.js';
import {
  imagingActivityOptions,
  maxConcurrentGraphsPerBatch,
} from '../../src/temporal/workflows/definitions.js';

type Activities = ReturnType<typeof createActivities>;

export interface GraphsAsActivitiesInput {
  accountId: string;
  batchId: string;
  graphCount: number;
  imagingTaskQueue: string;
}

export async function graphsAsActivitiesExperiment(input: GraphsAsActivitiesInput): Promise<number> {
  const { runGraph } = proxyActivities<Activities>({
    ...imagingActivityOptions,
    taskQueue: input.imagingTaskQueue,
  });
  let next = 0;
  let succeeded = 0;
  // The same window as the batch's children.
  const lane = async () => {
    while (next < input.graphCount) {
      const index = next++;
      const result = await runGraph({
        accountId: input.accountId,
        workflowId: `graph/${input.accountId}/${input.batchId}/${index}`,
        ref: { accountId: input.accountId, batchId: input.batchId, index },
        recordStart: true,
      });
      if (result.failures.length === 0) succeeded += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(maxConcurrentGraphsPerBatch, input.graphCount) }, lane));
  return succeeded;
}
