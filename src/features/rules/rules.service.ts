/**
 * Upload rules, `/v1/rules` (docs/architecture.md §10). A rule is checked whole before it is saved: its body, its
 * template (with the graph validator, filled for a sample object), its connection, its bucket and every
 * bucket its template touches (granted to the account), and that its outputs cannot trigger it again.
 */
import { z } from 'zod';
import { checkStorageAccess, type StorageAccessIssue } from '../../core/auth/storage-access.js';
import type { Config } from '../../core/config.js';
import type { Db } from '../../db/database.js';
import { newRuleId } from '../../core/ids.js';
import { deleteRule, getRule, insertRule, listRules, updateRule, type RuleFields } from '../../db/rules.js';
import type { RuleRow } from '../../db/schema.js';
import { DEFAULT_CONNECTION } from '../../core/graph/units.js';
import { effectiveGrants, isBucketGranted } from '../../core/storage/grants.js';
import { expandGraphTemplate, validateGraphTemplate } from '../../core/triggers/graph-template.js';
import { normalizeMediaType, ruleWouldLoop } from '../../core/triggers/rule-match.js';
import { ApiError, parseRequestBody, invalidGraph, type ApiIssue } from '../../api/api-error.js';
import { ruleRequestSchema, type RuleResponse } from './rules.schemas.js';

export interface RuleDeps {
  db: Db;
  config: Pick<Config, 'storage' | 'imaging'>;
}

/** The body as zod checks it; the template is judged by the graph validator instead (see checkRule). */
const ruleBodySchema = ruleRequestSchema.extend({
  template: z.custom<unknown>((value) => value !== undefined, 'a graph template'),
});
export type RuleBody = z.output<typeof ruleBodySchema>;

/** A rule body's shape: 422 `invalid_body` with every issue. The rest of a rule's checks are checkRule's. */
export function parseRuleBody(body: unknown): RuleBody {
  return parseRequestBody(ruleBodySchema, body, 'the rule', 'The rule is invalid');
}

/** Rule ids are short; anything longer is not one of ours (and is not echoed back whole). */
const MAX_RULE_ID_LENGTH = 64;

export async function createRule(deps: RuleDeps, accountId: string, body: RuleBody): Promise<RuleResponse> {
  const fields = checkRule(deps, accountId, body);
  return toResponse(await insertRule(deps.db, { id: newRuleId(), accountId, ...fields }));
}

export async function listAccountRules(
  deps: RuleDeps,
  accountId: string,
): Promise<{ rules: RuleResponse[] }> {
  return { rules: (await listRules(deps.db, accountId)).map(toResponse) };
}

export async function getAccountRule(
  deps: RuleDeps,
  accountId: string,
  ruleId: string,
): Promise<RuleResponse> {
  const row = ruleId.length <= MAX_RULE_ID_LENGTH ? await getRule(deps.db, accountId, ruleId) : undefined;
  if (!row) throw ruleNotFound(ruleId);
  return toResponse(row);
}

/** PUT: the body replaces the whole rule (omitted optional fields return to their defaults). */
export async function replaceRule(
  deps: RuleDeps,
  accountId: string,
  ruleId: string,
  body: RuleBody,
): Promise<RuleResponse> {
  if (ruleId.length > MAX_RULE_ID_LENGTH || !(await getRule(deps.db, accountId, ruleId)))
    throw ruleNotFound(ruleId);
  const fields = checkRule(deps, accountId, body);
  const row = await updateRule(deps.db, accountId, ruleId, fields);
  if (!row) throw ruleNotFound(ruleId);
  return toResponse(row);
}

export async function removeRule(deps: RuleDeps, accountId: string, ruleId: string): Promise<void> {
  const deleted = ruleId.length <= MAX_RULE_ID_LENGTH && (await deleteRule(deps.db, accountId, ruleId));
  if (!deleted) throw ruleNotFound(ruleId);
}

function ruleNotFound(ruleId: string) {
  return new ApiError(
    404,
    'not_found',
    `Rule ${JSON.stringify(ruleId.slice(0, MAX_RULE_ID_LENGTH))} was not found`,
  );
}

/** Every check a rule of this shape must pass, in the order a client can fix them; the fields to store. */
function checkRule(deps: RuleDeps, accountId: string, input: RuleBody): RuleFields {
  const connection = input.connection ?? DEFAULT_CONNECTION;
  const bodyIssues: ApiIssue[] = [];
  if (!Object.hasOwn(deps.config.storage.connections, connection)) {
    bodyIssues.push({
      path: '/connection',
      code: 'unknown_connection',
      message: `Expected a storage connection configured on this server for connection but received ${JSON.stringify(connection)}`,
    });
  }
  if (input.minSize !== undefined && input.maxSize !== undefined && input.minSize > input.maxSize) {
    bodyIssues.push({
      path: '/minSize',
      code: 'inverted_size_range',
      message: `Expected minSize at most maxSize (${input.maxSize}) but received ${input.minSize}`,
    });
  }
  if (bodyIssues.length) throw new ApiError(422, 'invalid_body', 'The rule is invalid', bodyIssues);

  const validated = validateGraphTemplate(input.template, { maxPixels: deps.config.imaging.maxInputPixels });
  if (!validated.ok) throw invalidGraph(validated.error.map((issue) => underTemplate(issue)));
  const template = validated.value;

  if (!isBucketGranted(effectiveGrants(deps.config.storage.grants, accountId), connection, input.bucket)) {
    throw new ApiError(
      403,
      'access_denied',
      'The rule watches a bucket that is not granted to this account',
      [
        {
          path: '/bucket',
          code: 'bucket_not_granted',
          message: `Expected a bucket granted to this account on connection ${JSON.stringify(connection)} for bucket but received ${JSON.stringify(input.bucket)}`,
        },
      ],
    );
  }
  // The template as it runs: the watched object as its source, sinks without `storage` on its connection.
  const expanded = expandGraphTemplate(template, {
    connection,
    bucket: input.bucket,
    key: 'sample-dir/sample-name.jpg',
  });
  const access = checkStorageAccess([{ graph: expanded, base: [] }], deps.config.storage, accountId);
  if (access.unknownConnections.length) {
    throw new ApiError(
      422,
      'invalid_graph',
      'The template names storage connections this server does not have',
      access.unknownConnections.map(fromExpanded),
    );
  }
  if (access.denied.length) {
    throw new ApiError(
      403,
      'access_denied',
      'The template uses buckets that are not granted to this account',
      access.denied.map(fromExpanded),
    );
  }

  const fields: RuleFields = {
    name: input.name ?? null,
    connection,
    bucket: input.bucket,
    prefix: input.prefix ?? '',
    suffix: input.suffix ?? '',
    contentTypes: [...new Set((input.contentTypes ?? []).map(normalizeMediaType))],
    minSize: input.minSize ?? null,
    maxSize: input.maxSize ?? null,
    enabled: input.enabled ?? true,
    template,
  };
  const loops = ruleWouldLoop(fields);
  if (loops.length) {
    throw new ApiError(
      422,
      'rule_would_loop',
      'The rule would trigger on its own outputs; nothing was saved',
      loops.map((sink) => ({
        path: `/template${sink.path}`,
        code: 'rule_would_loop',
        message: sink.message,
      })),
    );
  }
  return fields;
}

function underTemplate(issue: ApiIssue): ApiIssue {
  return { ...issue, path: `/template${issue.path}` };
}

/** Pointers into the expanded graph (the source first) → pointers into the rule body's template. */
function fromExpanded(issue: StorageAccessIssue): ApiIssue {
  const match = /^\/transformUnits\/(\d+)(.*)$/.exec(issue.path);
  const path = match ? `/transformUnits/${Number(match[1]) - 1}${match[2]}` : issue.path;
  return { ...issue, path: `/template${path}` };
}

function toResponse(row: RuleRow): RuleResponse {
  return {
    ruleId: row.id,
    name: row.name,
    connection: row.connection,
    bucket: row.bucket,
    prefix: row.prefix,
    suffix: row.suffix,
    contentTypes: row.contentTypes,
    minSize: row.minSize,
    maxSize: row.maxSize,
    enabled: row.enabled,
    template: row.template,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
