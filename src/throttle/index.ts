export * from './schedule.js';
export * from './reservations.js';
export * from './gate.js';
