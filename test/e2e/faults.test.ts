/**
 * Durability, proven by breaking things: a worker killed with SIGKILL mid-batch, and the Temporal
 * server restarted on its database file mid-batch. Each time the batch must complete, with every
 * output written once and correct, and no graph reporting success without its outputs.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { startTemporalDevServer } from '../../src/tools/temporal-cli.js';
import { freePort } from '../../src/tools/ports.js';
import type { BatchStatus } from '../../src/core/jobs/job-status.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import { threeOutputGraph } from '../support/graphs.js';
import { startWorkerProcess } from '../support/worker-process.js';
import { startStack, type Stack } from '../support/stack.js';

const photo = 'jpeg-large-4608x1976-phone.jpg';
const graphCount = 8;

async function submitPhotoBatch(stack: Stack, prefix: string): Promise<string> {
  const key = await stack.uploadFixture(photo, `in/${prefix}/${photo}`);
  const graphs = Array.from({ length: graphCount }, (_, i) =>
    threeOutputGraph(stack.buckets.input, key, stack.buckets.output, `${prefix}/${i}`),
  );
  const submitted = await stack.api('/v1/batches', { method: 'POST', body: JSON.stringify({ graphs }) });
  assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
  return (submitted.body as { batchId: string }).batchId;
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function succeededCount(stack: Stack, batchId: string): Promise<number> {
  return (await stack.orchestrator.getBatchStatus(stack.account.accountId, batchId))?.counts.succeeded ?? 0;
}

/** Every graph succeeded, and every reported sink is in the bucket once, with the reported size and real content. */
async function assertCompleteAndWrittenOnce(
  stack: Stack,
  status: BatchStatus,
  prefix: string,
): Promise<void> {
  assert.equal(status.state, 'succeeded', JSON.stringify(status.counts));
  const listed = await stack.s3.send(
    new ListObjectsV2Command({ Bucket: stack.buckets.output, Prefix: `${prefix}/` }),
  );
  const stored = new Map((listed.Contents ?? []).map((object) => [object.Key!, object.Size!]));
  assert.equal(stored.size, graphCount * 3, 'exactly the expected outputs, nothing extra');
  for (const graph of status.graphs) {
    assert.equal(graph.sinks.length, 3);
    for (const sink of graph.sinks) {
      assert.equal(stored.get(sink.key), sink.bytes, `${sink.key} is stored with the reported size`);
      const meta = await sharp(await stack.readObject(sink.bucket, sink.key)).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], [sink.format, sink.width, sink.height]);
    }
  }
}

describe('durability under faults', () => {
  test('when the worker process is killed with SIGKILL mid-batch and another starts, then the batch completes with every output written once', async () => {
    const database = await freshPostgresDatabase();
    const stack = await startStack({ databaseUrl: database.url, inProcessWorkers: false });
    const workers: ChildProcess[] = [];
    after(async () => {
      for (const worker of workers) worker.kill('SIGKILL');
      await stack.close();
      await database.drop();
    });

    workers.push(await startWorkerProcess({ ...stack.workerEnv, PIXELSHIFT_IMAGING_SLOTS: '1' }));
    const batchId = await submitPhotoBatch(stack, 'kill');
    await waitUntil(async () => (await succeededCount(stack, batchId)) >= 1);
    assert.ok((await succeededCount(stack, batchId)) < graphCount, 'the kill lands mid-batch');
    workers[0]!.kill('SIGKILL');

    workers.push(await startWorkerProcess({ ...stack.workerEnv, PIXELSHIFT_IMAGING_SLOTS: '1' }));
    const status = await stack.waitForBatch(batchId, 180_000);
    await assertCompleteAndWrittenOnce(stack, status, 'kill');

    // The graph that was in flight at the kill was retried by the new worker, not lost.
    let retried = 0;
    for (const graph of status.graphs) {
      const history = await stack.temporal.client.workflow.getHandle(graph.workflowId).fetchHistory();
      const attempts = (history.events ?? []).map(
        (event) => event.activityTaskStartedEventAttributes?.attempt ?? 0,
      );
      if (Math.max(...attempts) >= 2) retried += 1;
    }
    assert.ok(retried >= 1, 'at least one imaging activity ran a second attempt after the kill');
  });

  test('when the Temporal server restarts on its database file mid-batch, then the batch still completes', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pixelshift-restart-'));
    const port = await freePort();
    const dbFile = path.join(dir, 'temporal.db');
    let server = await startTemporalDevServer({ headless: true, dbFile, port });
    const stack = await startStack({ temporalAddress: server.address });
    after(async () => {
      await stack.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    const batchId = await submitPhotoBatch(stack, 'restart');
    await waitUntil(async () => (await succeededCount(stack, batchId)) >= 1);
    await server.stop();
    server = await startTemporalDevServer({ headless: true, dbFile, port });

    const status = await stack.waitForBatch(batchId, 180_000);
    await assertCompleteAndWrittenOnce(stack, status, 'restart');
  });
});
