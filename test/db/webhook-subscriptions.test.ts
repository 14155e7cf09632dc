import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ensureAccount } from '../../src/db/index.js';
import {
  callbackSecret,
  countDeliveries,
  deleteSubscription,
  disableSubscription,
  getDelivery,
  getSubscription,
  insertDelivery,
  insertEvent,
  insertSubscription,
  listDeliveries,
  recordAttempt,
  subscriptionsForEvent,
  updateSubscription,
} from '../../src/db/webhook-subscriptions.js';
import { databaseTargets, openMigrated, type TestDatabase } from '../support/test-databases.js';

for (const target of databaseTargets()) {
  describe(`webhook repositories on ${target.name}`, () => {
    let database: TestDatabase;
    before(async () => {
      database = await openMigrated(target);
      await ensureAccount(database.db, { id: 'acme', name: 'Acme' });
      await ensureAccount(database.db, { id: 'other', name: 'Other' });
    });
    after(() => database.close());

    const sub = (id: string, accountId: string, events: string[], enabled = true) =>
      insertSubscription(database.db, {
        id,
        accountId,
        url: `https://h.example/${id}`,
        events,
        enabled,
        secretSealed: 'v1.x',
      });

    test('when subscriptions are matched to an event, then only the account’s enabled ones for that type are found', async () => {
      await sub('wh_a', 'acme', ['graph.succeeded', 'batch.completed']);
      await sub('wh_b', 'acme', ['graph.failed']);
      await sub('wh_c', 'acme', ['graph.succeeded'], false);
      await sub('wh_d', 'other', ['graph.succeeded']);
      const found = await subscriptionsForEvent(database.db, 'acme', 'graph.succeeded');
      assert.deepEqual(
        found.map((row) => row.id),
        ['wh_a'],
      );
      await disableSubscription(database.db, 'wh_a', 'gone');
      assert.deepEqual(await subscriptionsForEvent(database.db, 'acme', 'graph.succeeded'), []);
      const enabled = await updateSubscription(database.db, 'acme', 'wh_a', { enabled: true });
      assert.equal(enabled?.disabledReason, null);
      assert.equal(await updateSubscription(database.db, 'other', 'wh_a', { enabled: false }), undefined);
      assert.equal((await getSubscription(database.db, 'acme', 'wh_a'))?.enabled, true);
    });

    test('when an event and its delivery are inserted twice, then one of each exists and attempts number from 1', async () => {
      const event = { id: 'evt_1', accountId: 'acme', type: 'graph.succeeded', payload: { n: 1 } };
      await insertEvent(database.db, event);
      await insertEvent(database.db, { ...event, payload: { n: 2 } });
      const delivery = {
        id: 'dlv_1',
        accountId: 'acme',
        eventId: 'evt_1',
        subscriptionId: 'wh_b',
        workflowId: 'delivery/evt_1/wh_b',
      };
      await insertDelivery(database.db, delivery);
      const again = await insertDelivery(database.db, delivery);
      assert.equal(again.state, 'pending');
      assert.equal(await countDeliveries(database.db, 'evt_1', 'wh_b'), 1);
      assert.equal(
        await recordAttempt(database.db, 'dlv_1', {
          status: 503,
          latencyMs: 5,
          error: 'x',
          state: 'pending',
        }),
        1,
      );
      assert.equal(
        await recordAttempt(database.db, 'dlv_1', {
          status: 204,
          latencyMs: 4,
          error: null,
          state: 'succeeded',
        }),
        2,
      );
      const [listed] = await listDeliveries(database.db, 'acme', 'wh_b', { limit: 5 });
      assert.equal(listed?.attempts, 2);
      assert.equal(listed?.lastStatus, 204);
      assert.deepEqual(
        listed?.attemptLog.map((a) => a.status),
        [503, 204],
      );
      assert.deepEqual(await listDeliveries(database.db, 'other', 'wh_b', { limit: 5 }), []);
    });

    test('when a subscription is deleted, then its deliveries and attempts go with it', async () => {
      assert.equal(await deleteSubscription(database.db, 'other', 'wh_b'), false);
      assert.equal(await deleteSubscription(database.db, 'acme', 'wh_b'), true);
      assert.equal(await getDelivery(database.db, 'dlv_1'), undefined);
    });

    test('when the callback secret is asked for concurrently, then one is kept per account', async () => {
      let made = 0;
      const seal = () => `v1.sealed-${++made}`;
      const secrets = await Promise.all([1, 2, 3].map(() => callbackSecret(database.db, 'acme', seal)));
      assert.equal(new Set(secrets).size, 1);
      assert.equal(await callbackSecret(database.db, 'acme', seal), secrets[0]);
    });
  });
}
