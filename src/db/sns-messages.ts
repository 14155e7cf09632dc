import { eq, lt } from 'drizzle-orm';
import type { Db } from './database.js';
import { snsMessages } from './schema.js';

export interface SnsMessageClaim {
  messageId: string;
  topicArn: string;
  type: string;
}

/**
 * Records that a message is being acted on. True when this call inserted it; false when the MessageId was
 * already recorded (a replay). Concurrent claims of one id are settled by the primary key, so exactly one
 * wins. Rows received before `purgeBefore` are deleted first, keeping the table to a few hours of messages.
 */
export async function claimSnsMessage(db: Db, claim: SnsMessageClaim, purgeBefore?: Date): Promise<boolean> {
  if (purgeBefore !== undefined) await db.delete(snsMessages).where(lt(snsMessages.receivedAt, purgeBefore));
  const inserted = await db
    .insert(snsMessages)
    .values(claim)
    .onConflictDoNothing({ target: snsMessages.messageId })
    .returning({ messageId: snsMessages.messageId });
  return inserted.length === 1;
}

/** Forgets a claim whose action failed, so the sender's retry of the same message can succeed. */
export async function releaseSnsMessage(db: Db, messageId: string): Promise<void> {
  await db.delete(snsMessages).where(eq(snsMessages.messageId, messageId));
}
