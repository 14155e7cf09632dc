import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { Webhook } from 'standardwebhooks';
import type { GraphOutcome } from '../../src/core/jobs/job-status.js';
import { assertOutputProvenance } from '../support/provenance.js';
import { assertDocumented, startStack, type Stack } from '../support/stack.js';

const finished = new Set(['succeeded', 'partial', 'failed', 'cancelled']);

describe('an inbound hook end to end: signed request → Temporal → worker → S3 (moto)', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack();
  });
  after(() => stack?.close());

  /** Polls the run's status URL, as the sender would, until the run has finished. */
  async function waitForRun(statusUrl: string, timeoutMs = 120_000): Promise<GraphOutcome> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const response = await stack.api(statusUrl, {});
      assert.equal(response.status, 200, JSON.stringify(response.body));
      const run = response.body as GraphOutcome;
      if (finished.has(run.state)) return run;
      if (Date.now() > deadline) throw new Error(`run ${statusUrl} still ${run.state} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  test('when a CMS posts a signed upload event, then the hook runs its template on the named image, and a redelivery runs nothing', async () => {
    const { input, output } = stack.buckets;
    const key = await stack.uploadFixture('jpeg-baseline-photo-2725x2225.jpg', 'uploads/2024/photo.jpg');

    const created = await stack.api('/v1/hooks', {
      method: 'POST',
      body: JSON.stringify({
        name: 'CMS uploads',
        mapping: { bucket: { pointer: '/data/bucket' }, key: { pointer: '/data/object/key' } },
        template: {
          transformUnits: [{ type: 'Resize', width: 400 }],
          outputs: [
            {
              transformUnits: [
                { type: 'ImageFormat', format: 'webp' },
                { type: 'StorageSink', bucket: output, key: 'hooked/{dir}/{name}.webp' },
              ],
            },
            {
              transformUnits: [
                { type: 'ImageFormat', format: 'png' },
                { type: 'StorageSink', bucket: output, key: 'hooked/{dir}/{name}.png' },
              ],
            },
          ],
        },
      }),
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const hook = created.body as { hookId: string; secret: string; triggerUrl: string };

    const body = JSON.stringify({ type: 'asset.uploaded', data: { bucket: input, object: { key } } });
    const send = async (webhookId: string) => {
      // One clock reading for both: signed at one second and sent with the next, the signature would not match.
      const at = new Date();
      const signature = new Webhook(hook.secret).sign(webhookId, at, body);
      const response = await fetch(`${stack.server.url}/v1/hooks/${hook.hookId}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': webhookId,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': signature,
        },
        body,
      });
      const text = await response.text();
      assertDocumented(stack.openApiDocument, 'POST', `/v1/hooks/${hook.hookId}`, response, text);
      return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
    };

    const first = await send('msg_e2e_1');
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const workflowId = `hook/${stack.account.accountId}/${hook.hookId}/msg_e2e_1`;
    assert.equal(first.body.workflowId, workflowId);
    assert.equal(first.body.statusUrl, `/v1/runs/${encodeURIComponent(workflowId)}`);
    assert.equal(first.body.duplicate, false);

    const run = await waitForRun(first.body.statusUrl);
    assert.equal(run.state, 'succeeded', JSON.stringify(run));
    assert.deepEqual(
      run.sinks.map((sink) => sink.key),
      ['hooked/uploads/2024/photo.webp', 'hooked/uploads/2024/photo.png'],
    );
    for (const sink of run.sinks) {
      const meta = await sharp(await stack.readObject(output, sink.key)).metadata();
      assert.equal(meta.format, sink.format);
      assert.equal(meta.width, 400);
      // GET /v1/runs/{runId} says which run wrote each output from what, as the object itself does.
      await assertOutputProvenance(stack, sink, { workflowId, source: { bucket: input, key } });
    }

    // The status URL reads the read model, which records the outcome just before the workflow returns: wait
    // for the execution itself to close before comparing it.
    const handle = stack.temporal.client.workflow.getHandle(workflowId);
    await handle.result();
    const firstExecution = await handle.describe();
    const again = await send('msg_e2e_1');
    assert.equal(again.status, 202);
    assert.equal(again.body.duplicate, true);
    assert.equal(again.body.runId, first.body.runId);
    // Still the one execution that already finished: nothing was started under this ID again.
    const afterRetry = await handle.describe();
    assert.equal(afterRetry.runId, firstExecution.runId);
    assert.equal(afterRetry.status.name, 'COMPLETED');
  });
});
