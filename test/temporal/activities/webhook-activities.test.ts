import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createWebhookActivities } from '../../../src/temporal/activities/webhook-activities.js';
import {
  generateSigningSecret,
  sealSecret,
  secretsKeyFromBase64,
} from '../../../src/core/auth/secret-box.js';
import { ensureAccount } from '../../../src/db/index.js';
import { insertBatch } from '../../../src/db/batches.js';
import { threeOutputGraph } from '../../support/graphs.js';
import {
  deleteSubscription,
  getDelivery,
  getSubscription,
  insertSubscription,
  listDeliveries,
  updateSubscription,
} from '../../../src/db/webhook-subscriptions.js';
import { createAddressPolicy } from '../../../src/core/net/address-policy.js';
import { createOutboundClient } from '../../../src/core/net/outbound-http.js';
import { newSubscriptionId } from '../../../src/core/webhooks/webhook-ids.js';
import { databaseTargets, openMigrated, type TestDatabase } from '../../support/test-databases.js';
import {
  hasValidSignature,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../../support/webhook-receiver.js';

const key = secretsKeyFromBase64(Buffer.alloc(32, 7).toString('base64'));
const configuredSchedule = [100, 200, 400];

describe('webhook activities', () => {
  let database: TestDatabase;
  let receiver: WebhookReceiver;
  let activities: ReturnType<typeof createWebhookActivities>;
  before(async () => {
    database = await openMigrated(databaseTargets()[0]!);
    receiver = await startWebhookReceiver();
    activities = createWebhookActivities({
      db: database.db,
      secretsKey: key,
      outbound: createOutboundClient({ policy: createAddressPolicy(['127.0.0.1']) }),
      attemptTimeoutMs: 5_000,
      retryScheduleMs: configuredSchedule,
    });
  });
  after(async () => {
    await receiver.close();
    await database.close();
  });

  async function subscription(accountId: string, path: string) {
    await ensureAccount(database.db, { id: accountId, name: accountId });
    const id = newSubscriptionId();
    const secret = generateSigningSecret();
    await insertSubscription(database.db, {
      id,
      accountId,
      url: receiver.url(path),
      events: ['graph.succeeded'],
      enabled: true,
      secretSealed: sealSecret(key, secret, id),
    });
    return { id, secret };
  }

  const publish = (accountId: string, runId = 'run-1') =>
    activities.publishWebhookEvent({
      accountId,
      type: 'graph.succeeded',
      workflowId: `s3/default/in/${accountId}.jpg/1/rule`,
      runId,
      data: { state: 'succeeded' },
    });

  test('when an emission is retried, then the event and its deliveries are the same ones', async () => {
    await subscription('acct-retry', '/retry');
    const first = await publish('acct-retry');
    const again = await publish('acct-retry');
    assert.deepEqual(again, first);
    assert.equal(first.deliveries.length, 1);
    assert.match(first.deliveries[0]!.workflowId, /^delivery\/evt_[0-9a-f]{32}\/wh_/);
    const other = await publish('acct-retry', 'run-2');
    assert.notEqual(other.eventId, first.eventId);
  });

  test('when a delivery asks for its retry schedule, then it gets the configured one, which no delivery to start carries', async () => {
    assert.deepEqual(await activities.webhookRetrySchedule(), configuredSchedule);
    await subscription('acct-schedule', '/schedule');
    const { deliveries } = await publish('acct-schedule');
    assert.deepEqual(Object.keys(deliveries[0]!).sort(), ['deliveryId', 'summary', 'workflowId']);
  });

  test('when nobody subscribes to the type, then nothing is stored and nothing is to be delivered', async () => {
    await ensureAccount(database.db, { id: 'acct-quiet', name: 'quiet' });
    assert.deepEqual((await publish('acct-quiet')).deliveries, []);
  });

  test('when a batch asks whether anyone wants graph events, then only an enabled subscription to one or its callbackUrl says yes', async () => {
    const accountId = 'acct-wanted';
    await ensureAccount(database.db, { id: accountId, name: accountId });
    const wanted = () => activities.graphEventsWanted({ accountId, batchId: 'b_none' });
    assert.equal(await wanted(), false);
    const add = (events: string[], enabled: boolean) => {
      const id = newSubscriptionId();
      return insertSubscription(database.db, {
        id,
        accountId,
        url: receiver.url('/wanted'),
        events,
        enabled,
        secretSealed: sealSecret(key, generateSigningSecret(), id),
      });
    };
    await add(['batch.completed'], true);
    await add(['graph.succeeded'], false);
    assert.equal(await wanted(), false);
    await add(['batch.completed', 'graph.failed'], true);
    assert.equal(await wanted(), true);
  });

  test('when a batch with a callbackUrl asks whether anyone wants graph events, then the answer is yes', async () => {
    const accountId = 'acct-callback';
    await ensureAccount(database.db, { id: accountId, name: accountId });
    await insertBatch(database.db, {
      batchId: 'b_cb',
      accountId,
      graphs: [threeOutputGraph('photos', 'a.jpg', 'out', 'cb')],
      callbackUrl: receiver.url('/cb'),
    });
    assert.equal(await activities.graphEventsWanted({ accountId, batchId: 'b_cb' }), true);
    assert.equal(await activities.graphEventsWanted({ accountId, batchId: 'b_other' }), false);
  });

  test('when the secret was rotated, then an attempt carries valid signatures by the new and the previous secret', async () => {
    const { id, secret: old } = await subscription('acct-rotate', '/rotate');
    const fresh = generateSigningSecret();
    await updateSubscription(database.db, 'acct-rotate', id, {
      secretSealed: sealSecret(key, fresh, id),
      previousSecretSealed: sealSecret(key, old, id),
      previousSecretExpiresAt: new Date(Date.now() + 3_600_000),
    });
    const { deliveries } = await publish('acct-rotate');
    const result = await activities.attemptWebhookDelivery({
      deliveryId: deliveries[0]!.deliveryId,
      final: false,
    });
    assert.equal(result.outcome, 'succeeded');
    const [request] = receiver.requests('/rotate');
    assert.equal(String(request!.headers['webhook-signature']).split(' ').length, 2);
    assert.ok(hasValidSignature(fresh, request!));
    assert.ok(hasValidSignature(old, request!));
  });

  test('when the subscription was disabled while the delivery waited, then the attempt sends nothing and stops', async () => {
    const { id } = await subscription('acct-off', '/off');
    const { deliveries } = await publish('acct-off');
    await updateSubscription(database.db, 'acct-off', id, { enabled: false });
    const result = await activities.attemptWebhookDelivery({
      deliveryId: deliveries[0]!.deliveryId,
      final: false,
    });
    assert.equal(result.outcome, 'stopped');
    assert.equal(receiver.requests('/off').length, 0);
    assert.equal((await getDelivery(database.db, deliveries[0]!.deliveryId))!.state, 'disabled');
  });

  test('when the receiver redirects to a metadata address, then the attempt fails, logs the refusal and is retried later', async () => {
    const { id } = await subscription('acct-redirect', '/redirect');
    receiver.respond('/redirect', () => ({
      status: 302,
      headers: { location: 'http://169.254.169.254/latest/meta-data/' },
    }));
    const { deliveries } = await publish('acct-redirect');
    const result = await activities.attemptWebhookDelivery({
      deliveryId: deliveries[0]!.deliveryId,
      final: true,
    });
    assert.equal(result.outcome, 'retry');
    assert.equal(receiver.requests('/redirect').length, 1);
    const [logged] = await listDeliveries(database.db, 'acct-redirect', id, { limit: 10 });
    assert.equal(logged!.state, 'failed');
    assert.equal(logged!.attemptLog[0]!.status, 302);
    assert.match(logged!.attemptLog[0]!.error ?? '', /redirect_not_followed.*outbound_address_refused/);
  });

  test('when the address policy refuses the receiver at connect time, then the delivery ends as refused and the subscription says why', async () => {
    const { id } = await subscription('acct-refused', '/refused');
    const { deliveries } = await publish('acct-refused');
    // The operator took loopback off the allow-list after the subscription was made.
    const closedPolicy = createWebhookActivities({
      db: database.db,
      secretsKey: key,
      outbound: createOutboundClient({ policy: createAddressPolicy([]) }),
      attemptTimeoutMs: 5_000,
      retryScheduleMs: configuredSchedule,
    });
    const result = await closedPolicy.attemptWebhookDelivery({
      deliveryId: deliveries[0]!.deliveryId,
      final: false,
    });
    assert.equal(result.outcome, 'refused');
    assert.equal(receiver.requests('/refused').length, 0);
    const [logged] = await listDeliveries(database.db, 'acct-refused', id, { limit: 10 });
    assert.equal(logged!.state, 'refused');
    assert.equal(logged!.attempts, 1);
    assert.equal(
      logged!.attemptLog[0]!.error,
      'outbound_address_refused: 127.0.0.1 is a loopback IPv4 address',
    );
    const subscriptionRow = await getSubscription(database.db, 'acct-refused', id);
    assert.equal(subscriptionRow!.enabled, false);
    assert.match(
      subscriptionRow!.disabledReason ?? '',
      /^outbound_address_refused: 127\.0\.0\.1 is a loopback IPv4 address \(delivery dlv_/,
    );
  });

  test('when the receiver answers 503 with an HTTP-date Retry-After, then the attempt returns the delay', async () => {
    await subscription('acct-503', '/unavailable');
    const at = new Date(Date.now() + 30_000).toUTCString();
    receiver.respond('/unavailable', () => ({ status: 503, headers: { 'retry-after': at } }));
    const { deliveries } = await publish('acct-503');
    const result = await activities.attemptWebhookDelivery({
      deliveryId: deliveries[0]!.deliveryId,
      final: false,
    });
    assert.equal(result.status, 503);
    assert.ok(result.retryAfterMs! > 25_000 && result.retryAfterMs! <= 30_000, String(result.retryAfterMs));
  });

  test('when the subscription was deleted while the delivery waited, then the attempt sends nothing and stops', async () => {
    const { id } = await subscription('acct-deleted', '/deleted');
    const { deliveries } = await publish('acct-deleted');
    assert.equal(await deleteSubscription(database.db, 'acct-deleted', id), true);
    const result = await activities.attemptWebhookDelivery({
      deliveryId: deliveries[0]!.deliveryId,
      final: false,
    });
    assert.equal(result.outcome, 'stopped');
    assert.equal(receiver.requests('/deleted').length, 0);
  });
});
