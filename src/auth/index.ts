export * from './api-keys.js';
export * from './access-tokens.js';
export * from './client-credentials.js';
export * from './jwt-secret.js';
export * from './key-status.js';
export * from './storage-access.js';
export * from './secret-box.js';
