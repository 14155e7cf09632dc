import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from './database.js';
import { accounts, type AccountRow } from './schema.js';

/**
 * Account ids are slugs (`acme`): they appear in workflow IDs (`batch/acme/b_…`) and search attributes,
 * so they are short, lower-case and never contain `/`. The database enforces the same pattern.
 */
export const accountIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/);

export type Account = AccountRow;

export interface NewAccount {
  id: string;
  name: string;
}

/** Inserts an account; fails (unique violation) when the id is taken. */
export async function createAccount(db: Db, account: NewAccount): Promise<Account> {
  const [row] = await db.insert(accounts).values(account).returning();
  if (!row) throw new Error(`account ${account.id} was not inserted`);
  return row;
}

/** The account with this id, created when missing (the dev account at start-up, `keys create --account`). */
export async function ensureAccount(db: Db, account: NewAccount): Promise<Account> {
  await db.insert(accounts).values(account).onConflictDoNothing({ target: accounts.id });
  const row = await getAccount(db, account.id);
  if (!row) throw new Error(`account ${account.id} vanished right after it was ensured`);
  return row;
}

export async function getAccount(db: Db, id: string): Promise<Account | undefined> {
  const [row] = await db.select().from(accounts).where(eq(accounts.id, id)).limit(1);
  return row;
}
