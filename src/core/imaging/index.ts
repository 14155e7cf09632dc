export * from './execute-graph.js';
export { compilePlan, planOutputs } from './plan.js';
export type { Plan, PlanNode, PlanOp, PlanOutput, PlanSource, PlanStage } from './plan.js';
export { slotRank, gammaOutRank, refusal, canExtend } from './stage-order.js';
export type { Slot } from './stage-order.js';
export {
  classifyPipelineError,
  classifySourceError,
  heicMessage,
  heicOffMessage,
  isHevcHeif,
} from './classify.js';
export { mimeTypes } from './encode.js';
export { maxOverlayBytes } from './ops-composite.js';
export { failOn } from './pipeline.js';
export { GeneratedSourceError, SourceSupersededError } from './source.js';
