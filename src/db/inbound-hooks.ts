/** Inbound hooks and the messages they accepted (migration 0006). */
import { and, asc, eq } from 'drizzle-orm';
import type { TransformGraph } from '../core/graph/graph.js';
import type { HookMapping } from '../core/triggers/inbound-hook-mapping.js';
import type { Db } from './database.js';
import { randomToken } from '../core/ids.js';
import { hookMessages, hooks, type HookMessageRow, type HookRow } from './schema.js';

/** `hook_` + 32 base32 characters: 160 random bits, safe to put in a URL and impossible to guess. */
export function newHookId(): string {
  return `hook_${randomToken(20)}`;
}

export const hookIdPattern = /^hook_[0-9a-hjkmnp-tv-z]{32}$/;

export interface NewHook {
  id: string;
  accountId: string;
  name: string;
  secretSealed: string;
  mapping: HookMapping;
  template: TransformGraph;
  enabled: boolean;
}

export async function insertHook(db: Db, hook: NewHook): Promise<HookRow> {
  const [row] = await db.insert(hooks).values(hook).returning();
  if (!row) throw new Error(`hook ${hook.id} was not inserted`);
  return row;
}

/** Any account's hook, for the trigger endpoint (where the hook id locates the secret). */
export async function findHook(db: Db, hookId: string): Promise<HookRow | undefined> {
  const [row] = await db.select().from(hooks).where(eq(hooks.id, hookId)).limit(1);
  return row;
}

/** One of the account's hooks; undefined for another account's. */
export async function getHook(db: Db, accountId: string, hookId: string): Promise<HookRow | undefined> {
  const [row] = await db
    .select()
    .from(hooks)
    .where(and(eq(hooks.id, hookId), eq(hooks.accountId, accountId)))
    .limit(1);
  return row;
}

export async function listHooks(db: Db, accountId: string): Promise<HookRow[]> {
  return db
    .select()
    .from(hooks)
    .where(eq(hooks.accountId, accountId))
    .orderBy(asc(hooks.createdAt), asc(hooks.id));
}

export type HookChanges = Partial<
  Pick<HookRow, 'name' | 'mapping' | 'template' | 'enabled' | 'previousSecretSealed' | 'secretSealed'> & {
    previousSecretExpiresAt: Date | null;
  }
>;

/** Updates one of the account's hooks; undefined when the account has no such hook. */
export async function updateHook(
  db: Db,
  accountId: string,
  hookId: string,
  changes: HookChanges,
  at = new Date(),
): Promise<HookRow | undefined> {
  const [row] = await db
    .update(hooks)
    .set({ ...changes, updatedAt: at })
    .where(and(eq(hooks.id, hookId), eq(hooks.accountId, accountId)))
    .returning();
  return row;
}

/** Deletes one of the account's hooks with its message log; false when there was none. */
export async function deleteHook(db: Db, accountId: string, hookId: string): Promise<boolean> {
  const deleted = await db
    .delete(hooks)
    .where(and(eq(hooks.id, hookId), eq(hooks.accountId, accountId)))
    .returning({ id: hooks.id });
  return deleted.length > 0;
}

export async function findHookMessage(
  db: Db,
  hookId: string,
  webhookId: string,
): Promise<HookMessageRow | undefined> {
  const [row] = await db
    .select()
    .from(hookMessages)
    .where(and(eq(hookMessages.hookId, hookId), eq(hookMessages.webhookId, webhookId)))
    .limit(1);
  return row;
}

/**
 * Records an accepted message. The first record wins: a concurrent duplicate gets the first one's row
 * back (same workflow ID by construction), so both answer with the same run.
 */
export async function recordHookMessage(
  db: Db,
  message: { hookId: string; webhookId: string; workflowId: string },
): Promise<HookMessageRow> {
  const [inserted] = await db.insert(hookMessages).values(message).onConflictDoNothing().returning();
  if (inserted) return inserted;
  const existing = await findHookMessage(db, message.hookId, message.webhookId);
  if (!existing) throw new Error(`hook message ${message.webhookId} of ${message.hookId} vanished`);
  return existing;
}
