/**
 * Upload rules (docs/architecture.md §10). Reads and writes for the owner are scoped to the account (another account's
 * rule does not exist for the caller); event ingress reads the enabled rules of one bucket across accounts
 * and checks each account's grants itself.
 */
import { and, asc, eq } from 'drizzle-orm';
import type { TransformGraph } from '../core/graph/graph.js';
import type { Db } from './database.js';
import { rules, type RuleRow } from './schema.js';

/** Everything a rule says, without its identity and timestamps. */
export interface RuleFields {
  name: string | null;
  connection: string;
  bucket: string;
  prefix: string;
  suffix: string;
  contentTypes: string[];
  minSize: number | null;
  maxSize: number | null;
  enabled: boolean;
  template: TransformGraph;
}

export async function insertRule(
  db: Db,
  rule: RuleFields & { id: string; accountId: string },
): Promise<RuleRow> {
  const [row] = await db.insert(rules).values(rule).returning();
  if (!row) throw new Error(`rule ${rule.id} was not inserted`);
  return row;
}

export async function getRule(db: Db, accountId: string, ruleId: string): Promise<RuleRow | undefined> {
  const [row] = await db
    .select()
    .from(rules)
    .where(and(eq(rules.id, ruleId), eq(rules.accountId, accountId)))
    .limit(1);
  return row;
}

/** The account's rules, oldest first. */
export async function listRules(db: Db, accountId: string): Promise<RuleRow[]> {
  return db
    .select()
    .from(rules)
    .where(eq(rules.accountId, accountId))
    .orderBy(asc(rules.createdAt), asc(rules.id));
}

/** Replaces a rule's fields; undefined when the account has no such rule. */
export async function updateRule(
  db: Db,
  accountId: string,
  ruleId: string,
  fields: RuleFields,
  at = new Date(),
): Promise<RuleRow | undefined> {
  const [row] = await db
    .update(rules)
    .set({ ...fields, updatedAt: at })
    .where(and(eq(rules.id, ruleId), eq(rules.accountId, accountId)))
    .returning();
  return row;
}

/** True when the account had the rule. */
export async function deleteRule(db: Db, accountId: string, ruleId: string): Promise<boolean> {
  const deleted = await db
    .delete(rules)
    .where(and(eq(rules.id, ruleId), eq(rules.accountId, accountId)))
    .returning({ id: rules.id });
  return deleted.length > 0;
}

/** Enabled rules of one bucket, of every account (ingress checks each account's grants). */
export async function enabledRulesForBucket(db: Db, connection: string, bucket: string): Promise<RuleRow[]> {
  return db
    .select()
    .from(rules)
    .where(and(eq(rules.connection, connection), eq(rules.bucket, bucket), eq(rules.enabled, true)))
    .orderBy(asc(rules.createdAt), asc(rules.id));
}
