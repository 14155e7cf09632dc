import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import supertest from 'supertest';
import { createApp } from '../../src/app/http-app.js';
import type { BatchStatus } from '../../src/core/jobs/job-status.js';
import { hashCanonicalJson } from '../../src/core/canonical-json.js';
import { threeOutputGraph } from '../support/graphs.js';
import { assertOutputProvenance } from '../support/provenance.js';
import { assertDocumented, startStack, type Stack } from '../support/stack.js';
// Every response is checked against the app's OpenAPI document.
import '../support/response-contract.js';

const photos = ['jpeg-baseline-photo-2725x2225.jpg', 'jpeg-exif-orientation-6.jpg', 'png-rgba-alpha.png'];

describe('a batch end to end: token → HTTP → Temporal → worker → S3 (moto) → status', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack();
    for (const photo of photos) await stack.uploadFixture(photo);
    await stack.uploadFixture('bad-truncated.jpg');
  });
  after(() => stack?.close());

  test('when a batch of photos and one broken file is submitted, then the photos are written and the batch reports partial success', async () => {
    const { input, output } = stack.buckets;
    const graphs = [...photos, 'bad-truncated.jpg'].map((file) =>
      threeOutputGraph(input, `in/${file}`, output, `out/${file}`),
    );
    const submitted = await stack.api('/v1/batches', { method: 'POST', body: JSON.stringify({ graphs }) });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    const report = submitted.body as {
      batchId: string;
      graphsAccepted: number;
      workflowId: string;
      temporalUiUrl: string;
    };
    assert.equal(report.graphsAccepted, 4);
    assert.equal(report.workflowId, `batch/${stack.account.accountId}/${report.batchId}`);
    assert.match(report.temporalUiUrl, /\/namespaces\/default\/workflows\/batch%2F/);

    const status = await stack.waitForBatch(report.batchId);
    assert.equal(status.state, 'partial');
    assert.deepEqual(status.counts, {
      queued: 0,
      throttled: 0,
      running: 0,
      succeeded: 3,
      partial: 0,
      failed: 1,
      cancelled: 0,
      superseded: 0,
    });
    assert.equal(status.graphs[3]!.error?.code, 'corrupt_input');
    assert.deepEqual(status.graphs[3]!.sinks, []);

    for (const [index, graph] of status.graphs.slice(0, 3).entries()) {
      assert.equal(graph.state, 'succeeded');
      assert.deepEqual(
        graph.sinks.map((s) => s.key.split('/').pop()),
        ['1600.webp', '800.webp', 'thumb.jpg'],
      );
      for (const sink of graph.sinks) {
        // The result must describe what is really stored, checked on the stored bytes themselves.
        const bytes = await stack.readObject(sink.bucket, sink.key);
        const meta = await sharp(bytes).metadata();
        assert.equal(bytes.length, sink.bytes);
        assert.equal(meta.format, sink.format);
        assert.equal(meta.width, sink.width);
        assert.equal(meta.height, sink.height);
        if (sink.key.endsWith('thumb.jpg')) assert.deepEqual([meta.width, meta.height], [320, 320]);
        else
          assert.equal(
            Math.max(meta.width, meta.height) <= (sink.key.endsWith('1600.webp') ? 1600 : 800),
            true,
          );
        // The batch status says which run wrote each output from what, as the object itself does.
        await assertOutputProvenance(stack, sink, {
          workflowId: graph.workflowId,
          source: { bucket: input, key: `in/${photos[index]}` },
          graphHash: hashCanonicalJson(graphs[index]),
        });
      }
    }
    // The orientation-6 fixture is stored 1200×1800 and shows a 1800×1200 landscape once upright.
    const upright = status.graphs[1]!.sinks[0]!;
    assert.deepEqual([upright.width, upright.height], [1600, 1067]);

    const one = await stack.api(`/v1/batches/${report.batchId}/graphs/1`);
    assert.equal(one.status, 200);
    assert.equal((one.body as { outcome: { state: string } }).outcome.state, 'succeeded');

    // Operators can list the batch's workflows by search attribute.
    const ids: string[] = [];
    for (let attempt = 0; attempt < 50 && ids.length < 5; attempt++) {
      ids.length = 0;
      for await (const execution of stack.temporal.client.workflow.list({
        query: `PixelshiftBatchId="${report.batchId}"`,
      })) {
        ids.push(execution.workflowId);
      }
      if (ids.length < 5) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(ids.length, 5);
  });

  test('when the same Idempotency-Key is sent twice through supertest, then one batch runs', async () => {
    const app = createApp({
      db: stack.database.db,
      orchestrator: stack.orchestrator,
      config: stack.config,
      jwtSecret: new TextEncoder().encode(stack.config.auth.jwtSecret),
    });
    const token = await stack.token();
    const body = {
      graphs: [threeOutputGraph(stack.buckets.input, `in/${photos[0]}`, stack.buckets.output, 'idem')],
    };
    const first = await supertest(app)
      .post('/v1/batches')
      .set('authorization', `Bearer ${token}`)
      .set('idempotency-key', 'same-key-1')
      .send(body);
    const second = await supertest(app)
      .post('/v1/batches')
      .set('authorization', `Bearer ${token}`)
      .set('idempotency-key', 'same-key-1')
      .send(body);
    assert.equal(first.status, 201);
    assert.equal(second.status, 201);
    assert.equal((second.body as { batchId: string }).batchId, (first.body as { batchId: string }).batchId);
    const status: BatchStatus = await stack.waitForBatch((first.body as { batchId: string }).batchId);
    assert.equal(status.state, 'succeeded');

    const conflicting = await supertest(app)
      .post('/v1/batches')
      .set('authorization', `Bearer ${token}`)
      .set('idempotency-key', 'same-key-1')
      .send({
        graphs: [
          ...body.graphs,
          ...body.graphs.map(() =>
            threeOutputGraph(stack.buckets.input, `in/${photos[1]}`, stack.buckets.output, 'idem2'),
          ),
        ],
      });
    assert.equal(conflicting.status, 409);
    assert.equal((conflicting.body as { error: { code: string } }).error.code, 'idempotency_conflict');
  });

  test('when a token is missing or forged, then the real server answers 401 and starts nothing', async () => {
    const noToken = await fetch(`${stack.server.url}/v1/batches`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(noToken.status, 401);
    assertDocumented(stack.openApiDocument, 'POST', '/v1/batches', noToken, await noToken.text());
    const forged = await stack.api('/v1/batches/b_00000000000000000000000000', {
      token: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
    });
    assert.equal(forged.status, 401);
  });
});
