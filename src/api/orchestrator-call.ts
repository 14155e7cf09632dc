import type { Logger } from 'pino';
import { ApiError } from './api-error.js';

/**
 * Runs one call to the orchestrator (Temporal). When it fails the client gets 503 with a public message
 * and can retry; the cause is logged, never shown.
 */
export async function callOrchestrator<T>(what: string, call: () => Promise<T>, logger?: Logger): Promise<T> {
  try {
    return await call();
  } catch (error) {
    logger?.error({ err: error }, `orchestrator call failed: ${what}`);
    throw new ApiError(
      503,
      'orchestrator_unavailable',
      `Could not ${what}: the job engine is unavailable, retry later`,
      undefined,
      {
        'Retry-After': '1',
      },
    );
  }
}
