import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq, inArray, sql } from 'drizzle-orm';
import { findHookMessage, insertHook, newHookId, recordHookMessage } from '../../src/db/inbound-hooks.js';
import {
  claimIdempotencyKey,
  consumeSignInLink,
  createDashboardUser,
  createSignInLink,
  endSession,
  ensureAccount,
  failureKey,
  findLiveSession,
  hashToken,
  getIdempotencyRecord,
  insertBatch,
  insertDelivery,
  insertEvent,
  newBatchId,
  purgeExpiredRows,
  recordAttempt,
  recordFailure,
  startSession,
} from '../../src/db/index.js';
import {
  dashboardSignInLinks,
  idempotencyKeys,
  hookMessages,
  signInFailures,
  webhookDeliveries,
  webhookEvents,
} from '../../src/db/schema.js';
import { databaseTargets, openMigrated, type TestDatabase } from '../support/test-databases.js';

const DAY = 86_400_000;
const graph = {
  transformUnits: [
    { type: 'StorageSource' as const, bucket: 'photos', key: 'a.jpg' },
    { type: 'ImageFormat' as const, format: 'png' as const },
    { type: 'StorageSink' as const, bucket: 'photos', key: 'a.png' },
  ],
};

for (const target of databaseTargets()) {
  describe(`retention on ${target.name}`, () => {
    let database: TestDatabase;
    const suffix = Math.random().toString(36).slice(2, 8);
    const account = `ret-${suffix}`;
    const fortyDaysAgo = new Date(Date.now() - 40 * DAY);

    before(async () => {
      database = await openMigrated(target);
      await ensureAccount(database.db, { id: account, name: 'Retention' });
    });
    after(() => database.close());

    async function idempotencyKey(key: string): Promise<void> {
      const batchId = newBatchId();
      await database.db.transaction(async (tx) => {
        await claimIdempotencyKey(tx, { accountId: account, key, requestHash: 'h', batchId });
        await insertBatch(tx, { batchId, accountId: account, graphs: [graph] });
      });
    }

    async function webhookEvent(id: string, deliveryState: 'pending' | 'succeeded'): Promise<string> {
      await insertEvent(database.db, { id, accountId: account, type: 'graph.succeeded', payload: { id } });
      const delivery = await insertDelivery(database.db, {
        id: `dlv_${id}`,
        accountId: account,
        eventId: id,
        callbackUrl: 'https://example.com/hook',
        workflowId: `delivery/${id}/callback`,
      });
      await recordAttempt(database.db, delivery.id, {
        status: deliveryState === 'pending' ? 500 : 200,
        latencyMs: 12,
        error: null,
        state: deliveryState,
      });
      return delivery.id;
    }

    test('when rows are older than the retention, then they are purged, except events still being delivered', async () => {
      await idempotencyKey(`old-${suffix}`);
      await idempotencyKey(`new-${suffix}`);
      const hookId = newHookId();
      await insertHook(database.db, {
        id: hookId,
        accountId: account,
        name: 'cms',
        secretSealed: 'v1.sealed',
        mapping: { bucket: { value: 'photos' }, key: { pointer: '/key' } },
        template: { transformUnits: [{ type: 'ImageFormat', format: 'png' }] },
        enabled: true,
      });
      await recordHookMessage(database.db, { hookId, webhookId: 'msg_old', workflowId: 'hook/x/old' });
      await recordHookMessage(database.db, { hookId, webhookId: 'msg_new', workflowId: 'hook/x/new' });
      const oldDone = `evt_old_done_${suffix}`;
      const oldPending = `evt_old_pending_${suffix}`;
      const recent = `evt_new_${suffix}`;
      const oldDoneDelivery = await webhookEvent(oldDone, 'succeeded');
      await webhookEvent(oldPending, 'pending');
      await webhookEvent(recent, 'succeeded');

      await database.db
        .update(idempotencyKeys)
        .set({ createdAt: fortyDaysAgo })
        .where(eq(idempotencyKeys.key, `old-${suffix}`));
      await database.db
        .update(hookMessages)
        .set({ receivedAt: fortyDaysAgo })
        .where(eq(hookMessages.webhookId, 'msg_old'));
      await database.db
        .update(webhookEvents)
        .set({ createdAt: fortyDaysAgo })
        .where(inArray(webhookEvents.id, [oldDone, oldPending]));

      const report = await purgeExpiredRows(database.db, new Date(Date.now() - 30 * DAY));
      assert.ok(report.idempotencyKeys >= 1 && report.hookMessages >= 1 && report.webhookEvents >= 1);

      assert.equal(await getIdempotencyRecord(database.db, account, `old-${suffix}`), undefined);
      assert.ok(await getIdempotencyRecord(database.db, account, `new-${suffix}`));
      assert.equal(await findHookMessage(database.db, hookId, 'msg_old'), undefined);
      assert.ok(await findHookMessage(database.db, hookId, 'msg_new'));
      const events = await database.db
        .select({ id: webhookEvents.id })
        .from(webhookEvents)
        .where(inArray(webhookEvents.id, [oldDone, oldPending, recent]));
      assert.deepEqual(events.map((row) => row.id).sort(), [oldPending, recent].sort());
      // The purged event's delivery log went with it; nothing dangles.
      const deliveries = await database.db
        .select({ id: webhookDeliveries.id })
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.id, oldDoneDelivery));
      assert.deepEqual(deliveries, []);
      const attempts = await database.db.execute(
        sql`select count(*)::int as n from webhook_attempts where delivery_id = ${oldDoneDelivery}`,
      );
      assert.equal(Number((attempts as { rows: { n: number }[] }).rows[0]?.n), 0);
    });

    test('when dashboard sessions, sign-in links and failure counters are of no more use, then a purge removes them and keeps the live ones', async () => {
      const now = new Date();
      const user = await createDashboardUser(database.db, {
        accountId: account,
        email: `ret-${suffix}@example.com`,
        password: 'a long enough password',
      });
      const lifetimes = { idleMs: 3_600_000, maxAgeMs: DAY };
      const ended = await startSession(database.db, user, lifetimes, now);
      await endSession(database.db, ended.session.tokenHash, now);
      const expired = await startSession(database.db, user, lifetimes, new Date(now.getTime() - 2 * DAY));
      const live = await startSession(database.db, user, lifetimes, now);
      const used = await createSignInLink(database.db, user.id, { now });
      await consumeSignInLink(database.db, used.token, now);
      await createSignInLink(database.db, user.id, { now: new Date(now.getTime() - DAY) });
      const fresh = await createSignInLink(database.db, user.id, { now });
      const oldKey = failureKey('address', `old-${suffix}`);
      const newKey = failureKey('address', `new-${suffix}`);
      await recordFailure(database.db, [oldKey], 60_000, new Date(now.getTime() - DAY));
      await recordFailure(database.db, [newKey], 60_000, now);

      const report = await purgeExpiredRows(database.db, new Date(now.getTime() - 30 * DAY), now);
      assert.deepEqual(
        {
          sessions: report.dashboardSessions,
          links: report.signInLinks,
          counters: report.signInFailureCounters,
        },
        { sessions: 2, links: 2, counters: 1 },
      );
      assert.ok(await findLiveSession(database.db, live.token, now));
      assert.equal(await findLiveSession(database.db, expired.token, now), undefined);
      const links = await database.db
        .select({ tokenHash: dashboardSignInLinks.tokenHash })
        .from(dashboardSignInLinks)
        .where(eq(dashboardSignInLinks.userId, user.id));
      assert.deepEqual(links, [{ tokenHash: hashToken(fresh.token) }]);
      const counters = await database.db.select().from(signInFailures);
      assert.deepEqual(
        counters.map((row) => row.key),
        [newKey],
      );
    });

    test('when nothing is old enough, then a purge removes nothing', async () => {
      const report = await purgeExpiredRows(database.db, new Date(Date.now() - 3650 * DAY));
      assert.deepEqual(
        { ...report, olderThan: undefined },
        {
          olderThan: undefined,
          idempotencyKeys: 0,
          hookMessages: 0,
          webhookEvents: 0,
          dashboardSessions: 0,
          signInLinks: 0,
          signInFailureCounters: 0,
        },
      );
    });
  });
}
