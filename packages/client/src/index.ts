/**
 * `@pixelshift/client`: a typed client for the pixelshift image transform API.
 * @packageDocumentation
 */
export { createClient } from './client.js';
export type {
  BatchProgress,
  ClientOptions,
  PageQuery,
  PixelshiftClient,
  RunProgress,
  SessionClientOptions,
  SubmitOptions,
} from './client.js';
export type {
  BatchList,
  BatchSummary,
  DashboardSession,
  ListBatchesQuery,
  WebhookTestResponse,
} from './resource-types.js';
export { PixelshiftApiError, PixelshiftWebhookError } from './errors.js';
export type { PixelshiftIssue } from './errors.js';
export type { RetryOptions, SessionAuth } from './transport.js';
export type { WaitOptions } from './wait.js';
export type * from './generated/types.js';
export { verifyWebhook } from './webhooks.js';
export type { WebhookEvent, WebhookHeaders } from './webhooks.js';
export { source } from './graph-builder.js';
export type {
  FormatOptions,
  FormattedChain,
  GraphChain,
  OperationUnit,
  Operations,
  SinkOptions,
  SourceOptions,
  UnitOptions,
} from './graph-builder.js';
