export * from './database.js';
export * from './migrate.js';
export * from './schema.js';
export * from './accounts.js';
export * from './api-keys.js';
export * from './batches.js';
export * from './idempotency.js';
export * from './ids.js';
