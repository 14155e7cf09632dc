/**
 * An experiment, not product code (bench/shapes.ts): a batch's graphs as child workflows, each running
 * the real `runGraph` either as an activity on the imaging queue (as the product does) or as a local
 * activity inside the child's workflow task. Both children carry the same search attributes and upsert
 * their final state, so the two differ only in how the imaging is dispatched.
 */
import {
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  executeChild,
  proxyActivities,
  proxyLocalActivities,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createActivities } from '../../src/temporal/activities/index.js';
import { accountIdKey, batchIdKey, stateKey, triggerKey } from '../../src/temporal/search-attributes.js';
import {
  imagingActivityOptions,
  maxConcurrentGraphsPerBatch,
} from '../../src/temporal/workflows/definitions.js';

type Activities = ReturnType<typeof createActivities>;

export interface ChildPerGraphInput {
  accountId: string;
  batchId: string;
  graphCount: number;
  imagingTaskQueue: string;
  /** Run the imaging as a local activity of the child instead of an activity on the imaging queue. */
  localImaging: boolean;
}

type ExperimentGraphInput = ChildPerGraphInput & { index: number };

export async function childPerGraphExperiment(input: ChildPerGraphInput): Promise<number> {
  let next = 0;
  let succeeded = 0;
  const lane = async () => {
    while (next < input.graphCount) {
      const index = next++;
      const ok = await executeChild(experimentGraphWorkflow, {
        workflowId: `experiment-graph/${input.batchId}/${index}`,
        args: [{ ...input, index }],
        typedSearchAttributes: [
          { key: accountIdKey, value: input.accountId },
          { key: batchIdKey, value: input.batchId },
          { key: triggerKey, value: 'api' },
          { key: stateKey, value: 'running' },
        ],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      });
      if (ok) succeeded += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(maxConcurrentGraphsPerBatch, input.graphCount) }, lane));
  return succeeded;
}

export async function experimentGraphWorkflow(input: ExperimentGraphInput): Promise<boolean> {
  const { heartbeatTimeout: _heartbeat, ...localOptions } = imagingActivityOptions;
  const { runGraph } = input.localImaging
    ? proxyLocalActivities<Activities>(localOptions)
    : proxyActivities<Activities>({ ...imagingActivityOptions, taskQueue: input.imagingTaskQueue });
  const result = await runGraph({
    accountId: input.accountId,
    workflowId: `graph/${input.accountId}/${input.batchId}/${input.index}`,
    ref: { accountId: input.accountId, batchId: input.batchId, index: input.index },
    recordStart: true,
  });
  const ok = result.failures.length === 0;
  upsertSearchAttributes([{ key: stateKey, value: ok ? 'succeeded' : 'failed' }]);
  return ok;
}
