export * from './units.js';
export * from './graph.js';
export * from './issues.js';
export * from './validate.js';
export * from './summary.js';
