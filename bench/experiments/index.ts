/** The experiment workflows of `npm run bench -- shapes`, bundled together for its experiment worker. */
export * from './child-per-graph-workflows.js';
export * from './graphs-as-activities-workflow.js';
