/**
 * Managing an account's inbound hooks: `/v1/hooks` CRUD and secret rotation. The secret is shown once
 * (at creation and at each rotation) and stored sealed, since every trigger request is verified with it.
 */
import { generateSigningSecret, sealSecret, type SecretsKey } from '../../core/auth/secret-box.js';
import type { Config } from '../../core/config.js';
import type { Db } from '../../db/database.js';
import {
  deleteHook,
  getHook,
  hookIdPattern,
  insertHook,
  listHooks,
  newHookId,
  updateHook,
  type HookChanges,
} from '../../db/inbound-hooks.js';
import type { HookRow } from '../../db/schema.js';
import type { TransformGraph } from '../../core/graph/graph.js';
import { effectiveGrants, isBucketGranted } from '../../core/storage/grants.js';
import { DEFAULT_CONNECTION } from '../../core/graph/units.js';
import { validateGraphTemplate } from '../../core/triggers/graph-template.js';
import type { HookMapping } from '../../core/triggers/inbound-hook-mapping.js';
import { ApiError, parseRequestBody, invalidGraph, notFound, type ApiIssue } from '../../api/api-error.js';
import {
  createHookFieldsSchema,
  updateHookFieldsSchema,
  type CreatedHookResponse,
  type CreateHookRequest,
  type HookResponse,
  type RotatedHookSecretResponse,
  type UpdateHookRequest,
} from './inbound-hooks.schemas.js';

/** How long the secret before a rotation keeps working, so senders can switch without dropping requests. */
export const SECRET_ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;

export interface HookDeps {
  db: Db;
  config: Config;
  secretsKey: () => Promise<SecretsKey>;
}

/** A create body: its fields by the documented schema, then its template by the graph-template validator. */
export function parseHookCreation(config: Pick<Config, 'imaging'>, body: unknown): CreateHookRequest {
  const input = parseRequestBody(createHookFieldsSchema, body, 'the hook');
  return { ...input, template: checkTemplate(config, input.template) };
}

/** A change: its fields by the documented schema, then a new template by the graph-template validator. */
export function parseHookChange(config: Pick<Config, 'imaging'>, body: unknown): UpdateHookRequest {
  const { template, ...fields } = parseRequestBody(updateHookFieldsSchema, body, 'the hook');
  return template === undefined ? fields : { ...fields, template: checkTemplate(config, template) };
}

export async function createHook(
  deps: HookDeps,
  accountId: string,
  input: CreateHookRequest,
): Promise<CreatedHookResponse> {
  checkMapping(deps.config, accountId, input.mapping);
  const id = newHookId();
  const secret = generateSigningSecret();
  const row = await insertHook(deps.db, {
    id,
    accountId,
    name: input.name,
    secretSealed: sealSecret(await deps.secretsKey(), secret, id),
    mapping: input.mapping,
    template: input.template,
    enabled: input.enabled ?? true,
  });
  return { ...toResponse(deps.config, row), secret };
}

export async function listAccountHooks(
  deps: Pick<HookDeps, 'db' | 'config'>,
  accountId: string,
): Promise<{ hooks: HookResponse[] }> {
  const rows = await listHooks(deps.db, accountId);
  return { hooks: rows.map((row) => toResponse(deps.config, row)) };
}

export async function getAccountHook(
  deps: Pick<HookDeps, 'db' | 'config'>,
  accountId: string,
  hookId: string,
): Promise<HookResponse> {
  const row = hookIdPattern.test(hookId) ? await getHook(deps.db, accountId, hookId) : undefined;
  if (!row) throw hookNotFound(hookId);
  return toResponse(deps.config, row);
}

export async function changeHook(
  deps: Pick<HookDeps, 'db' | 'config'>,
  accountId: string,
  hookId: string,
  input: UpdateHookRequest,
): Promise<HookResponse> {
  if (!hookIdPattern.test(hookId)) throw hookNotFound(hookId);
  if (input.mapping) checkMapping(deps.config, accountId, input.mapping);
  const changes: HookChanges = {
    ...(input.name === undefined ? {} : { name: input.name }),
    ...(input.mapping === undefined ? {} : { mapping: input.mapping }),
    ...(input.template === undefined ? {} : { template: input.template }),
    ...(input.enabled === undefined ? {} : { enabled: input.enabled }),
  };
  const row = await updateHook(deps.db, accountId, hookId, changes);
  if (!row) throw hookNotFound(hookId);
  return toResponse(deps.config, row);
}

export async function removeHook(
  deps: Pick<HookDeps, 'db'>,
  accountId: string,
  hookId: string,
): Promise<void> {
  const deleted = hookIdPattern.test(hookId) && (await deleteHook(deps.db, accountId, hookId));
  if (!deleted) throw hookNotFound(hookId);
}

/**
 * A new secret; the current one becomes the previous one and is accepted for 24 more hours. Rotating
 * again within those hours drops the oldest secret at once.
 */
export async function rotateHookSecret(
  deps: HookDeps,
  accountId: string,
  hookId: string,
  now = new Date(),
): Promise<RotatedHookSecretResponse> {
  const current = hookIdPattern.test(hookId) ? await getHook(deps.db, accountId, hookId) : undefined;
  if (!current) throw hookNotFound(hookId);
  const secret = generateSigningSecret();
  const previousSecretExpiresAt = new Date(now.getTime() + SECRET_ROTATION_GRACE_MS);
  const row = await updateHook(
    deps.db,
    accountId,
    hookId,
    {
      secretSealed: sealSecret(await deps.secretsKey(), secret, hookId),
      previousSecretSealed: current.secretSealed,
      previousSecretExpiresAt,
    },
    now,
  );
  if (!row) throw hookNotFound(hookId);
  return { hookId, secret, previousSecretExpiresAt: previousSecretExpiresAt.toISOString() };
}

export function hookTriggerUrl(config: Pick<Config, 'http'>, hookId: string): string {
  return `${config.http.publicUrl?.replace(/\/+$/, '') ?? ''}/v1/hooks/${hookId}`;
}

function toResponse(config: Pick<Config, 'http'>, row: HookRow): HookResponse {
  return {
    hookId: row.id,
    name: row.name,
    enabled: row.enabled,
    mapping: row.mapping,
    template: row.template,
    triggerUrl: hookTriggerUrl(config, row.id),
    previousSecretExpiresAt: row.previousSecretExpiresAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function hookNotFound(hookId: string): ApiError {
  return notFound(`Hook ${JSON.stringify(hookId.slice(0, 64))}`);
}

/** The connection must exist here, and a fixed bucket must be granted (a pointed-to one is checked per request). */
function checkMapping(config: Pick<Config, 'storage'>, accountId: string, mapping: HookMapping): void {
  const connection = mapping.connection ?? DEFAULT_CONNECTION;
  if (!Object.hasOwn(config.storage.connections, connection)) {
    throw new ApiError(422, 'invalid_body', 'The hook names a storage connection this server does not have', [
      {
        path: '/mapping/connection',
        code: 'unknown_connection',
        message: `Expected a storage connection configured on this server for mapping.connection but received ${JSON.stringify(connection)}`,
      },
    ]);
  }
  if ('value' in mapping.bucket) {
    if (
      !isBucketGranted(effectiveGrants(config.storage.grants, accountId), connection, mapping.bucket.value)
    ) {
      throw new ApiError(403, 'access_denied', 'The hook uses a bucket that is not granted to this account', [
        {
          path: '/mapping/bucket/value',
          code: 'bucket_not_granted',
          message: `Expected a bucket granted to this account on connection ${JSON.stringify(connection)} but received ${JSON.stringify(mapping.bucket.value)}`,
        },
      ]);
    }
  }
}

function checkTemplate(config: Pick<Config, 'imaging'>, template: unknown): TransformGraph {
  const checked = validateGraphTemplate(template, { maxPixels: config.imaging.maxInputPixels });
  if (!checked.ok) {
    throw invalidGraph(
      checked.error.map((issue): ApiIssue => ({ ...issue, path: `/template${issue.path}` })),
    );
  }
  return checked.value;
}
