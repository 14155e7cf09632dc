/**
 * `POST /v1/hooks/{hookId}`: another system starts a graph run with a Standard Webhooks request.
 *
 * Order matters: find the hook, verify the signature over the raw bytes, and only then parse, map and
 * start. Nothing is recorded or started for a request that fails any step. The workflow ID is
 * `hook/<account>/<hook>/<webhook-id>`, so a redelivered message starts nothing twice even when two
 * copies race; the `hook_messages` row (written after the start) answers later duplicates with the same
 * run, and its absence after a failed start lets the sender's retry start it.
 */
import type { Logger } from 'pino';
import { openSecret, type SecretsKey } from '../../core/auth/secret-box.js';
import type { Config } from '../../core/config.js';
import type { Db } from '../../db/database.js';
import { findHook, findHookMessage, hookIdPattern, recordHookMessage } from '../../db/inbound-hooks.js';
import type { HookRow } from '../../db/schema.js';
import { validateGraph } from '../../core/graph/validate.js';
import type { TriggeredRuns, WorkflowLinks } from '../../core/jobs/orchestrator-ports.js';
import { expandGraphTemplate } from '../../core/triggers/graph-template.js';
import { mapHookBody } from '../../core/triggers/inbound-hook-mapping.js';
import { checkSignatureHeaders, verifyHookRequest } from '../../core/triggers/inbound-hook-signature.js';
import { hookWorkflowId } from '../../core/jobs/workflow-ids.js';
import { ApiError } from '../../api/api-error.js';
import { callOrchestrator } from '../../api/orchestrator-call.js';
import type { HookTriggerResponse } from './inbound-hooks.schemas.js';
import { assertStorageAccess } from '../batches/storage-access.js';

export interface TriggerHookDeps {
  db: Db;
  orchestrator: Pick<TriggeredRuns, 'startGraphRun'> & WorkflowLinks;
  config: Config;
  secretsKey: () => Promise<SecretsKey>;
  logger?: Logger | undefined;
}

export interface HookTriggerRequest {
  hookId: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Buffer;
  now?: Date;
}

/**
 * What can be checked before the body is read: the signed headers are there and the timestamp is within
 * the window. A request that fails is refused without reading its body or looking up its hook.
 */
export function authenticateHookRequest(headers: HookTriggerRequest['headers'], now = new Date()): void {
  const checked = checkSignatureHeaders(headers, now);
  if (!checked.ok) throw signatureRefused(checked.error.message);
}

export async function triggerHook(
  deps: TriggerHookDeps,
  request: HookTriggerRequest,
): Promise<HookTriggerResponse> {
  const now = request.now ?? new Date();
  const hook = hookIdPattern.test(request.hookId) ? await findHook(deps.db, request.hookId) : undefined;
  // Unknown, disabled and another account's hooks look alike: the id only locates a secret.
  if (!hook?.enabled) throw new ApiError(404, 'hook_not_found', 'No enabled hook has this id');

  // The library signs the body as text: bytes that are not UTF-8 would be compared after a lossy
  // decoding, so they are refused before any signature is trusted.
  const text = utf8Text(request.body);
  const verified = verifyHookRequest({
    headers: request.headers,
    body: request.body,
    secrets: await secretsOf(deps, hook, now),
    now,
  });
  if (!verified.ok) throw signatureRefused(verified.error.message);
  // Its form (it becomes part of a workflow ID) was checked with the headers: hookTriggerHeadersSchema.
  const { webhookId } = verified.value;

  const payload = parseJson(text);
  const mapped = mapHookBody(hook.mapping, payload);
  if (!mapped.ok) {
    const { pointer, message } = mapped.error;
    throw new ApiError(422, 'invalid_hook_payload', message, [
      { path: pointer, code: 'invalid_hook_payload', message },
    ]);
  }
  const graph = expandGraphTemplate(hook.template, mapped.value);
  const checked = validateGraph(graph, { maxPixels: deps.config.imaging.maxInputPixels });
  if (!checked.ok) {
    // The template was valid when saved, so what the body supplied made the graph invalid (e.g. a key
    // that is too long once the sink keys are filled from it).
    throw new ApiError(
      422,
      'invalid_hook_payload',
      `The source from ${hook.mapping.key.pointer} makes the hook's graph invalid; nothing was started`,
      checked.error,
    );
  }
  assertStorageAccess([{ graph: checked.value, base: [] }], deps.config.storage, hook.accountId);

  const known = await findHookMessage(deps.db, hook.id, webhookId);
  if (known) return response(deps, known.workflowId, true);

  const workflowId = hookWorkflowId(hook.accountId, hook.id, webhookId);
  const { started } = await callOrchestrator(
    'start the run',
    () =>
      deps.orchestrator.startGraphRun({
        accountId: hook.accountId,
        workflowId,
        trigger: 'webhook',
        triggerId: hook.id,
        graph: checked.value,
      }),
    deps.logger,
  );
  const recorded = await recordHookMessage(deps.db, { hookId: hook.id, webhookId, workflowId });
  deps.logger?.info({ hookId: hook.id, workflowId, started }, 'inbound hook accepted');
  return response(deps, recorded.workflowId, !started);
}

function signatureRefused(message: string): ApiError {
  return new ApiError(401, 'invalid_signature', message);
}

/** The current secret, and the previous one while its grace period after a rotation lasts. */
async function secretsOf(
  deps: Pick<TriggerHookDeps, 'secretsKey'>,
  hook: HookRow,
  now: Date,
): Promise<string[]> {
  const key = await deps.secretsKey();
  const secrets = [openSecret(key, hook.secretSealed, hook.id)];
  if (hook.previousSecretSealed && hook.previousSecretExpiresAt && hook.previousSecretExpiresAt > now) {
    secrets.push(openSecret(key, hook.previousSecretSealed, hook.id));
  }
  return secrets;
}

function utf8Text(body: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new ApiError(400, 'invalid_json', 'The request body is not UTF-8 text');
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, 'invalid_json', 'The request body is not valid JSON');
  }
}

function response(
  deps: Pick<TriggerHookDeps, 'config' | 'orchestrator'>,
  workflowId: string,
  duplicate: boolean,
): HookTriggerResponse {
  const runId = encodeURIComponent(workflowId);
  const temporalUiUrl = deps.orchestrator.uiUrl(workflowId);
  return {
    runId,
    workflowId,
    statusUrl: `${deps.config.http.publicUrl?.replace(/\/+$/, '') ?? ''}/v1/runs/${runId}`,
    duplicate,
    ...(temporalUiUrl === undefined ? {} : { temporalUiUrl }),
  };
}
