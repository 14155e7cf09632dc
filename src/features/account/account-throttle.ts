/** The account (`GET /v1/account`) and its throttle (`GET/PUT /v1/account/throttle`, docs/architecture.md §9). */
import type { Logger } from 'pino';
import type { Config } from '../../core/config.js';
import type { Db } from '../../db/database.js';
import { translateZodIssues } from '../../core/graph/zod-issues.js';
import type { ThrottleSignals } from '../../core/jobs/orchestrator-ports.js';
import { listApiKeys } from '../../db/api-keys.js';
import { getLimit, setLimit } from '../../db/throttle-reservations.js';
import { ApiError } from '../../api/api-error.js';
import { callOrchestrator } from '../../api/orchestrator-call.js';
import {
  type AccountResponse,
  type ThrottleSettingsResponse,
  type ThrottleUpdate,
  type ThrottleUpdateSchema,
} from './account.schemas.js';

export interface AccountThrottleDeps {
  db: Db;
  orchestrator: ThrottleSignals;
  config: Pick<Config, 'throttle'>;
  logger?: Logger | undefined;
}

export const windowSeconds = (config: Pick<Config, 'throttle'>) => config.throttle.windowMs / 1000;

/** The body of a throttle change, or a 422 `invalid_body` with one issue per field. */
export function parseThrottleUpdate(schema: ThrottleUpdateSchema, body: unknown): ThrottleUpdate {
  const parsed = schema.safeParse(body, { reportInput: true });
  if (parsed.success) return parsed.data;
  const issues = translateZodIssues(parsed.error.issues, [], 'the request');
  // zod reports a huge number twice (beyond the safe integers, and over the maximum): one issue per
  // field, the last, which names our bound.
  const lastPerField = issues.filter((issue, i) => !issues.slice(i + 1).some((o) => o.path === issue.path));
  throw new ApiError(422, 'invalid_body', 'The request body is invalid', lastPerField);
}

/** Who the caller is, the throttle its work runs under, and how many key pairs it has. */
export async function getAccount(deps: AccountThrottleDeps, accountId: string): Promise<AccountResponse> {
  const [throttle, keys] = await Promise.all([getThrottle(deps, accountId), listApiKeys(deps.db, accountId)]);
  return {
    accountId,
    throttle,
    activeKeyCount: keys.filter((key) => key.revokedAt === null).length,
    keyCount: keys.length,
  };
}

export async function getThrottle(
  deps: AccountThrottleDeps,
  accountId: string,
): Promise<ThrottleSettingsResponse> {
  return { transformsPerHour: await getLimit(deps.db, accountId), windowSeconds: windowSeconds(deps.config) };
}

/**
 * Sets the limit; it applies at once to every graph that has not started. Waiting graphs whose slot
 * moved are signalled to look again (a raised limit starts them within a second or two). Sending the
 * same limit again signals every waiting graph: the way to recover when the engine was unreachable.
 */
export async function putThrottle(
  deps: AccountThrottleDeps,
  accountId: string,
  update: ThrottleUpdate,
): Promise<ThrottleSettingsResponse> {
  // A changed window was refused with the body (throttleUpdateSchemaFor).
  const change = await setLimit(deps.db, {
    accountId,
    limit: update.transformsPerHour,
    windowMs: deps.config.throttle.windowMs,
  });
  const toTell = change.previous === change.limit ? change.waiting : change.moved.map((row) => row.graphKey);
  if (toTell.length > 0) {
    await callOrchestrator(
      'wake the waiting graphs (the new limit is saved; send it again to retry)',
      () => deps.orchestrator.notifyThrottleChanged(toTell),
      deps.logger,
    );
  }
  return { transformsPerHour: change.limit, windowSeconds: windowSeconds(deps.config) };
}
