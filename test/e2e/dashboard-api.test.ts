/**
 * The dashboard's API end to end (issue 13): real API, Temporal, workers and moto. A batch with a broken
 * source is retried once the source is fixed, the retry links back to it, and its output is previewed
 * through the thumbnail endpoint; a webhook test event reaches a loopback receiver, signed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { TransformGraph } from '../../src/core/graph/index.js';
import { assertDocumented, startStack, type Stack } from '../support/stack.js';
import {
  hasValidSignature,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../support/webhook-receiver.js';

describe('the dashboard API end to end', () => {
  let stack: Stack;
  let receiver: WebhookReceiver;

  const graph = (source: string, out: string): TransformGraph => ({
    transformUnits: [
      { type: 'StorageSource', bucket: stack.buckets.input, key: source },
      { type: 'Resize', width: 64 },
      { type: 'ImageFormat', format: 'webp' },
      { type: 'StorageSink', bucket: stack.buckets.output, key: `dashboard/${out}.webp` },
    ],
  });

  before(async () => {
    stack = await startStack();
    receiver = await startWebhookReceiver();
    await stack.uploadFixture('webp-lossy.webp');
  });
  after(async () => {
    await receiver?.close();
    await stack?.close();
  });

  test('when a batch with a broken source is retried after the source is fixed, then the new batch runs only that graph, succeeds and links back', async () => {
    // A broken file under a key of its own, replaced by a good image before the retry.
    const brokenKey = await stack.uploadFixture('bad-truncated.jpg', `in/retry-${Date.now()}.jpg`);
    const submitted = await stack.api('/v1/batches', {
      method: 'POST',
      body: JSON.stringify({
        graphs: [graph('in/webp-lossy.webp', 'good'), graph(brokenKey, 'fixed')],
      }),
    });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    const original = (submitted.body as { batchId: string }).batchId;
    const first = await stack.waitForBatch(original);
    assert.equal(first.state, 'partial');
    assert.deepEqual(
      first.graphs.map((g) => [g.state, g.error?.code]),
      [
        ['succeeded', undefined],
        ['failed', 'corrupt_input'],
      ],
    );

    await stack.uploadFixture('webp-lossy.webp', brokenKey);
    const retried = await stack.api(`/v1/batches/${original}/retry-failed`, {
      method: 'POST',
      headers: { 'Idempotency-Key': `retry-${original}` },
    });
    assert.equal(retried.status, 201, JSON.stringify(retried.body));
    const report = retried.body as { batchId: string; graphsAccepted: number; retryOf: string };
    assert.deepEqual([report.graphsAccepted, report.retryOf], [1, original]);
    const again = await stack.api(`/v1/batches/${original}/retry-failed`, {
      method: 'POST',
      headers: { 'Idempotency-Key': `retry-${original}` },
    });
    assert.equal((again.body as { batchId: string }).batchId, report.batchId, 'the same key, the same batch');

    const second = await stack.waitForBatch(report.batchId);
    assert.equal(second.state, 'succeeded');
    assert.equal((second as unknown as { retryOf?: string }).retryOf, original);
    assert.equal(second.graphs.length, 1);
    assert.equal(second.graphs[0]!.sinks[0]!.key, 'dashboard/fixed.webp');

    const listed = await stack.api(`/v1/batches?q=${report.batchId}`);
    assert.deepEqual(
      (listed.body as { batches: { batchId: string; retryOf?: string; state: string }[] }).batches,
      [
        {
          batchId: report.batchId,
          retryOf: original,
          state: 'succeeded',
          graphCount: 1,
          counts: second.counts,
          createdAt: (listed.body as { batches: { createdAt: string }[] }).batches[0]!.createdAt,
          finishedAt: second.finishedAt,
        },
      ],
    );
    const nothingLeft = await stack.api(`/v1/batches/${report.batchId}/retry-failed`, { method: 'POST' });
    assert.equal(nothingLeft.status, 409);
    assert.equal((nothingLeft.body as { error: { code: string } }).error.code, 'nothing_to_retry');

    // The retried output, previewed from moto through the storage layer.
    const thumbnail = await fetch(
      `${stack.server.url}/v1/batches/${report.batchId}/graphs/0/outputs/0/thumbnail?size=32`,
      { headers: { authorization: `Bearer ${await stack.token()}` } },
    );
    assert.equal(thumbnail.status, 200);
    assert.equal(thumbnail.headers.get('content-type'), 'image/webp');
    const thumbnailPath = `/v1/batches/${report.batchId}/graphs/0/outputs/0/thumbnail`;
    assertDocumented(stack.openApiDocument, 'GET', thumbnailPath, thumbnail, '');
    const meta = await sharp(Buffer.from(await thumbnail.arrayBuffer())).metadata();
    assert.equal(meta.format, 'webp');
    assert.ok(Math.max(meta.width, meta.height) === 32, `${meta.width}x${meta.height}`);
    const revalidated = await fetch(
      `${stack.server.url}/v1/batches/${report.batchId}/graphs/0/outputs/0/thumbnail?size=32`,
      {
        headers: {
          authorization: `Bearer ${await stack.token()}`,
          'if-none-match': thumbnail.headers.get('etag')!,
        },
      },
    );
    assert.equal(revalidated.status, 304);
    assertDocumented(stack.openApiDocument, 'GET', thumbnailPath, revalidated, await revalidated.text());
  });

  test('when a test event is sent to a subscription, then the loopback receiver gets a signed webhook.test and the log shows it delivered', async () => {
    const subscribed = await stack.api('/v1/webhooks', {
      method: 'POST',
      body: JSON.stringify({ url: receiver.url('/test-events'), events: ['batch.completed'] }),
    });
    assert.equal(subscribed.status, 201, JSON.stringify(subscribed.body));
    const { id, secret } = subscribed.body as { id: string; secret: string };

    const sent = await stack.api(`/v1/webhooks/${id}/test`, { method: 'POST' });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const { deliveryId, eventId } = sent.body as { deliveryId: string; eventId: string };

    const [received] = await receiver.waitFor('/test-events', (requests) => requests.length >= 1);
    assert.ok(hasValidSignature(secret, received!), 'signed with the subscription’s secret');
    assert.equal(received!.headers['webhook-id'], eventId);
    assert.equal(received!.json.type, 'webhook.test');
    assert.deepEqual(received!.json.data, {
      accountId: stack.account.accountId,
      webhookId: id,
      message: 'A test event sent on request; it needs no action.',
    });

    const deadline = Date.now() + 60_000;
    for (;;) {
      const log = await stack.api(`/v1/webhooks/${id}/deliveries`);
      const delivery = (log.body as { deliveries: { id: string; eventType: string; state: string }[] })
        .deliveries[0];
      if (delivery?.state === 'succeeded') {
        assert.deepEqual([delivery.id, delivery.eventType], [deliveryId, 'webhook.test']);
        break;
      }
      if (Date.now() > deadline)
        throw new Error(`delivery not logged as succeeded: ${JSON.stringify(log.body)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });
});
