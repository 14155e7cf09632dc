/**
 * The example rule `npm start` gives the dev account (docs/architecture.md §13): every image dropped under the
 * `uploads` bucket folder gets a 320 px WebP thumbnail in `thumbnails`, at the same path. It is created
 * through the same checks as `POST /v1/rules` (template, grants, the loop check), and only when the
 * account has no rules at all, so a rule the user deleted or changed is never brought back.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_CONNECTION } from '../core/graph/units.js';
import type { RuleResponse } from '../features/rules/rules.schemas.js';
import {
  createRule,
  listAccountRules,
  parseRuleBody,
  type RuleDeps,
} from '../features/rules/rules.service.js';

export const EXAMPLE_RULE = {
  name: 'Example: a 320 px WebP thumbnail of every image uploaded',
  connection: DEFAULT_CONNECTION,
  bucket: 'uploads',
  contentTypes: ['image/*'],
  template: {
    transformUnits: [
      { type: 'Resize', width: 320 },
      { type: 'ImageFormat', format: 'webp', quality: 80 },
      { type: 'StorageSink', bucket: 'thumbnails', key: '{dir}/{name}.webp' },
    ],
  },
} as const;

/** Creates the example rule for an account without rules; undefined when it has some already. */
export async function ensureExampleRule(
  deps: RuleDeps,
  accountId: string,
): Promise<RuleResponse | undefined> {
  const { rules } = await listAccountRules(deps, accountId);
  if (rules.length > 0) return undefined;
  return createRule(deps, accountId, parseRuleBody(EXAMPLE_RULE));
}

/** Where to drop files and find thumbnails, when the account has the example rule on a local connection. */
export interface ExampleFolders {
  uploads: string;
  thumbnails: string;
}

/**
 * For `npm start`: makes sure the example rule exists (see ensureExampleRule) and, when the account has
 * an enabled rule of that shape on a local `default` connection, creates both folders and names them.
 */
export async function prepareExampleRule(
  deps: RuleDeps,
  accountId: string,
): Promise<ExampleFolders | undefined> {
  await ensureExampleRule(deps, accountId);
  const connection = deps.config.storage.connections[EXAMPLE_RULE.connection];
  if (connection?.kind !== 'local') return undefined;
  const { rules } = await listAccountRules(deps, accountId);
  const example = rules.find(
    (rule) =>
      rule.enabled && rule.connection === EXAMPLE_RULE.connection && rule.bucket === EXAMPLE_RULE.bucket,
  );
  if (!example) return undefined;
  const folders = {
    uploads: path.join(connection.root, EXAMPLE_RULE.bucket),
    thumbnails: path.join(connection.root, 'thumbnails'),
  };
  await mkdir(folders.uploads, { recursive: true });
  await mkdir(folders.thumbnails, { recursive: true });
  return folders;
}
