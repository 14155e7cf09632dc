// The workflow bundle's entry point: only workflow functions are exported from here.
export { batchWorkflow } from './batch.js';
export { deliveryWorkflow } from './delivery.js';
export { graphWorkflow } from './graph.js';
