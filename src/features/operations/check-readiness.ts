import type { Logger } from 'pino';
import type { EngineReadiness } from '../../core/jobs/orchestrator-ports.js';
import type { Readiness } from './operations.schemas.js';

export interface ReadinessDeps {
  ping(): Promise<void>;
  orchestrator: EngineReadiness;
  logger?: Logger | undefined;
  /** A dependency that takes longer than this to answer counts as down: load balancers poll with short timeouts. */
  timeoutMs?: number;
}

/** Ready when both the database and the job engine (Temporal) answer. */
export async function checkReadiness(deps: ReadinessDeps): Promise<Readiness> {
  const timeoutMs = deps.timeoutMs ?? 2_000;
  const [database, orchestrator] = await Promise.all([
    probe('database', () => deps.ping(), timeoutMs, deps.logger),
    probe('orchestrator', () => deps.orchestrator.ping(), timeoutMs, deps.logger),
  ]);
  return {
    status: database === 'ok' && orchestrator === 'ok' ? 'ready' : 'unavailable',
    checks: { database, orchestrator },
  };
}

async function probe(
  name: string,
  check: () => Promise<void>,
  timeoutMs: number,
  logger?: Logger,
): Promise<'ok' | 'failed'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([check(), timeout]);
    return 'ok';
  } catch (error) {
    logger?.warn({ err: error }, `readiness check failed: ${name}`);
    return 'failed';
  } finally {
    clearTimeout(timer);
  }
}
