/**
 * @pixelshift/client against the real stack: a branching graph built with the SDK's builder is submitted
 * with the key pair, waited on through the live event stream, and every output is written.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient, source, type BatchProgress } from '../../packages/client/src/index.js';
import { assertOutputsWritten, startClientSmoke, type ClientSmoke } from '../support/generated-clients.js';

let smoke: ClientSmoke;
before(async () => {
  smoke = await startClientSmoke('sdk');
});
after(() => smoke?.close());

describe('@pixelshift/client against the real stack', { timeout: 300_000 }, () => {
  test('when a branching graph built with the builder is submitted and waited on, then progress streams in, the batch succeeds and every output exists', async () => {
    const env = smoke.env;
    const client = createClient({
      baseUrl: env.PIXELSHIFT_URL!,
      clientId: env.PIXELSHIFT_CLIENT_ID!,
      clientSecret: env.PIXELSHIFT_CLIENT_SECRET!,
    });
    const out = env.PIXELSHIFT_OUTPUT_BUCKET!;
    const prefix = env.PIXELSHIFT_OUTPUT_PREFIX!;
    const graph = source(env.PIXELSHIFT_INPUT_BUCKET!, env.PIXELSHIFT_INPUT_KEY!)
      .autoOrient()
      .outputs((b) => [
        b.resize({ width: 320 }).format('webp', { quality: 80 }).sink(out, `${prefix}/small.webp`),
        b.resize({ width: 160, height: 160, fit: 'cover' }).format('png').sink(out, `${prefix}/thumb.png`),
      ]);

    const started = await client.batches.submit([graph]);
    const progress: BatchProgress[] = [];
    const status = await client.batches.wait(started.batchId, {
      onProgress: (change) => progress.push(change),
      signal: AbortSignal.timeout(120_000),
    });

    assert.equal(status.state, 'succeeded');
    assert.equal(status.counts.succeeded, 1);
    assert.deepEqual(
      progress.filter((change) => change.type !== 'graph').map((change) => change.type),
      ['end'],
      'the stream, not polling, reported the end',
    );
    assert.ok(
      progress.some((change) => change.type === 'graph' && change.event.state === 'succeeded'),
      'the graph’s success was streamed',
    );
    const outcomes = [];
    for await (const outcome of client.batches.graphs(started.batchId)) outcomes.push(outcome);
    assert.deepEqual(outcomes.flatMap((outcome) => outcome.sinks.map((sink) => sink.key)).sort(), [
      `${prefix}/small.webp`,
      `${prefix}/thumb.png`,
    ]);
    await assertOutputsWritten(smoke);
  });
});
