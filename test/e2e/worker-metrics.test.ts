/**
 * The worker's /metrics (PIXELSHIFT_WORKER_METRICS_ADDRESS), scraped from the real `pixelshift worker`
 * process after it ran one graph: the Temporal SDK's own metrics and pixelshift's, with their labels.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../src/tools/ports.js';
import { fixturePath } from '../support/fixtures.js';
import { threeOutputGraph } from '../support/graphs.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import { scrape, type Exposition } from '../support/prometheus-text.js';
import { startStack, type Stack } from '../support/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { startWorkerProcess } from '../support/worker-process.js';

const photo = 'jpeg-large-4608x1976-phone.jpg';

async function scrapeUntil(
  url: string,
  condition: (metrics: Exposition) => boolean,
  timeoutMs = 30_000,
): Promise<Exposition> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const metrics = await scrape(url);
    if (condition(metrics)) return metrics;
    if (Date.now() > deadline) throw new Error(`the metrics at ${url} never met the condition`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('worker metrics', () => {
  let database: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  let stack: Stack;
  let receiver: WebhookReceiver;
  let worker: ChildProcess | undefined;
  let metricsUrl: string;

  before(async () => {
    database = await freshPostgresDatabase();
    stack = await startStack({ databaseUrl: database.url, inProcessWorkers: false });
    receiver = await startWebhookReceiver();
    metricsUrl = `http://127.0.0.1:${await freePort()}/metrics`;
    worker = await startWorkerProcess({
      ...stack.workerEnv,
      PIXELSHIFT_WORKER_METRICS_ADDRESS: new URL(metricsUrl).host,
    });
  });
  after(async () => {
    worker?.kill('SIGKILL');
    await receiver?.close();
    await stack?.close();
    await database?.drop();
  });

  test('when the worker has run one graph and delivered its webhooks, then one scrape shows the SDK metrics and the graph, imaging, bytes, throttle and delivery metrics with their labels', async () => {
    const created = await stack.api('/v1/webhooks', {
      method: 'POST',
      body: JSON.stringify({ url: receiver.url('/hook'), events: ['graph.succeeded', 'batch.completed'] }),
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const key = await stack.uploadFixture(photo);
    const submitted = await stack.api('/v1/batches', {
      method: 'POST',
      body: JSON.stringify({
        graphs: [threeOutputGraph(stack.buckets.input, key, stack.buckets.output, 'metrics')],
      }),
    });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    const batch = await stack.waitForBatch((submitted.body as { batchId: string }).batchId);
    assert.equal(batch.state, 'succeeded');
    const sinks = batch.graphs[0]!.sinks;

    // The deliveries are counted when their attempts end, just after the receiver has answered.
    const metrics = await scrapeUntil(
      metricsUrl,
      (m) => m.sum('pixelshift_webhook_deliveries_total', { outcome: 'succeeded' }) >= 2,
    );

    // The Temporal SDK's own metrics, from its exporter, in the same answer.
    assert.equal(metrics.sum('pixelshift_worker_sdk_metrics_up'), 1);
    for (const workerType of ['WorkflowWorker', 'ActivityWorker', 'LocalActivityWorker']) {
      assert.ok(
        metrics.find('temporal_worker_task_slots_available', { worker_type: workerType }).length > 0,
        `task slots of the ${workerType}`,
      );
    }
    const imagingQueue = stack.config.temporal.taskQueues.imaging;
    assert.ok(
      metrics.sum('temporal_activity_schedule_to_start_latency_count', { task_queue: imagingQueue }) >= 1,
    );
    assert.ok(metrics.sum('temporal_workflow_task_schedule_to_start_latency_count') >= 1);
    assert.ok(metrics.find('temporal_sticky_cache_size').length > 0);
    assert.ok(metrics.sum('temporal_num_pollers') > 0);
    assert.equal(metrics.types.get('temporal_activity_execution_latency'), 'histogram');

    // pixelshift's: one graph, imaged from a 9-megapixel JPEG into WebP and JPEG outputs.
    assert.equal(metrics.sum('pixelshift_graphs_total', { state: 'succeeded', error_code: 'none' }), 1);
    assert.equal(metrics.sum('pixelshift_graphs_total'), 1);
    assert.equal(
      metrics.sum('pixelshift_imaging_duration_seconds_count', { format: 'mixed', megapixels: '4-12' }),
      1,
    );
    assert.equal(metrics.sum('pixelshift_imaging_bytes_read_total'), statSync(fixturePath(photo)).size);
    for (const format of ['webp', 'jpeg']) {
      const written = sinks.filter((sink) => sink.format === format).reduce((n, sink) => n + sink.bytes, 0);
      assert.equal(metrics.sum('pixelshift_imaging_bytes_written_total', { format }), written, format);
    }

    // The throttle: one slot reserved by the account, started at once, none waiting or stuck.
    const account = { account: stack.account.accountId };
    assert.equal(metrics.sum('pixelshift_throttle_reservations_total', account), 1);
    assert.equal(metrics.sum('pixelshift_throttle_wait_seconds_count', account), 1);
    assert.equal(metrics.sum('pixelshift_throttle_wait_seconds_bucket', { ...account, le: '0' }), 1);
    assert.equal(metrics.sum('pixelshift_throttle_slots_used', account), 1);
    assert.equal(metrics.sum('pixelshift_throttle_limit', account), 1000);
    assert.equal(metrics.sum('pixelshift_throttle_waiting_graphs', account), 0);
    assert.equal(metrics.sum('pixelshift_throttle_overdue_graphs', account), 0);

    // Webhooks: graph.succeeded and batch.completed, each delivered on its first attempt.
    assert.equal(metrics.sum('pixelshift_webhook_attempts_total', { outcome: 'succeeded' }), 2);
    assert.equal(metrics.sum('pixelshift_webhook_attempts_total', { outcome: 'failed' }), 0);
    assert.equal(
      metrics.sum('pixelshift_webhook_attempt_duration_seconds_count', { outcome: 'succeeded' }),
      2,
    );

    // The process's own (prom-client defaults).
    assert.ok(metrics.sum('process_cpu_seconds_total') > 0);
    // No label carries an object, batch or graph: no value names the batch, the key or a workflow.
    const values = metrics.samples.flatMap((sample) => Object.values(sample.labels));
    for (const forbidden of [batch.batchId, key, batch.graphs[0]!.workflowId]) {
      assert.ok(!values.some((value) => value.includes(forbidden)), forbidden);
    }
  });

  test('when something other than GET /metrics is asked of the metrics port, then it answers 404 or 405 and nothing else', async () => {
    const base = new URL(metricsUrl);
    const other = await fetch(new URL('/other', base));
    assert.equal(other.status, 404);
    await other.body?.cancel();
    const post = await fetch(metricsUrl, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    await post.body?.cancel();
  });
});
