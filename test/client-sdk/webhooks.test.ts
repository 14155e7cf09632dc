/**
 * verifyWebhook: deliveries signed the way the service signs them (Standard Webhooks, one signature per
 * active secret) verify to their typed payload; anything else is refused with PixelshiftWebhookError.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { generateSigningSecret } from '../../src/core/auth/secret-box.js';
import { PixelshiftWebhookError, verifyWebhook } from '../../packages/client/src/index.js';

const secret = generateSigningSecret();
const payload = {
  type: 'batch.completed',
  timestamp: '2026-01-01T00:00:00.000Z',
  data: {
    accountId: 'acc_1',
    batchId: 'b_1',
    workflowId: 'batch-b_1',
    state: 'succeeded',
    graphCount: 1,
    counts: { succeeded: 1 },
    createdAt: '2026-01-01T00:00:00.000Z',
    statusPath: '/v1/batches/b_1',
    detail: 'states',
    graphs: [{ index: 0, workflowId: 'batch-b_1-0', state: 'succeeded' }],
  },
};

function signed(body: string, secrets: string[], at = new Date()) {
  return {
    'webhook-id': 'evt_1',
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((key) => new Webhook(key).sign('evt_1', at, body)).join(' '),
  };
}

const refused = (error: unknown) => error instanceof PixelshiftWebhookError;

describe('verifyWebhook', () => {
  test('when the body and headers are as signed, then the typed payload is returned and narrows on its type', () => {
    const body = JSON.stringify(payload);

    const event = verifyWebhook(Buffer.from(body), signed(body, [secret]), secret);

    assert.deepEqual(event, payload);
    assert.equal(event.type === 'batch.completed' ? event.data.batchId : undefined, 'b_1');
  });

  test('when the secret was rotated and two signatures are sent, then either secret verifies', () => {
    const body = JSON.stringify(payload);
    const previous = generateSigningSecret();
    const headers = new Headers(signed(body, [secret, previous]));

    assert.equal(verifyWebhook(body, headers, previous).type, 'batch.completed');
    assert.equal(verifyWebhook(body, headers, secret).type, 'batch.completed');
  });

  test('when the body was changed after signing, then it is refused', () => {
    const body = JSON.stringify(payload);
    const tampered = body.replace('"succeeded"', '"failed"');

    assert.throws(() => verifyWebhook(tampered, signed(body, [secret]), secret), refused);
  });

  test('when it is signed with another secret, then it is refused', () => {
    const body = JSON.stringify(payload);

    assert.throws(() => verifyWebhook(body, signed(body, [generateSigningSecret()]), secret), refused);
  });

  test('when the signature header is missing, then the error names it', () => {
    const body = JSON.stringify(payload);
    const { 'webhook-signature': _, ...headers } = signed(body, [secret]);

    assert.throws(() => verifyWebhook(body, headers, secret), /webhook-signature header is missing/);
  });

  test('when the timestamp is an hour old, then it is refused as a possible replay', () => {
    const body = JSON.stringify(payload);
    const anHourAgo = new Date(Date.now() - 3600_000);

    assert.throws(() => verifyWebhook(body, signed(body, [secret], anHourAgo), secret), refused);
  });

  test('when a correctly signed body is not a pixelshift event, then it is refused', () => {
    const body = JSON.stringify({ type: 'invoice.paid', data: {} });

    assert.throws(() => verifyWebhook(body, signed(body, [secret]), secret), /not a known pixelshift event/);
  });
});
