/**
 * OpenTelemetry tracing across the whole path, with the real `pixelshift api` and `pixelshift worker`
 * processes exporting to an OTLP/HTTP receiver on loopback: one trace from the batch request to the
 * outputs' uploads and the webhook deliveries; a bucket event's request reaches its run; the worker's log
 * lines carry the trace id.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { s3RecordsBody } from '../support/fake-ingest.js';
import { fixturePath } from '../support/fixtures.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import { callApi, readBatch, startStack, type Stack } from '../support/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const photo = 'jpeg-exif-orientation-1.jpg';
const eventsToken = 'e2e-events-token-tracing-0123456789abcdef01234';

/** Starts `pixelshift <command>` with MALLOC_ARENA_MAX set (no re-exec); resolves when `ready` is logged. */
function startProcess(
  command: 'api' | 'worker',
  env: NodeJS.ProcessEnv,
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpMatchArray; stderr: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/app/main.ts', command], {
    env: { ...env, MALLOC_ARENA_MAX: '2' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      const before = stderr;
      stderr += chunk.toString();
      const match = stderr.match(ready);
      if (match && !before.match(ready)) resolve({ child, match, stderr: () => stderr });
    });
    child.once('exit', (code) => reject(new Error(`${command} exited (${code}): ${stderr}`)));
  });
}

function byId(spans: ReceivedSpan[]): Map<string, ReceivedSpan> {
  return new Map(spans.map((span) => [span.spanId, span]));
}

/** The names from the trace's root down to `span`. */
function pathOf(spans: ReceivedSpan[], span: ReceivedSpan): string[] {
  const index = byId(spans);
  const names: string[] = [];
  for (let at: ReceivedSpan | undefined = span; at; at = index.get(at.parentSpanId)) names.unshift(at.name);
  return names;
}

/** Whether every ancestor of `span` has arrived: the processes export on their own schedules. */
function reachesRoot(spans: ReceivedSpan[], span: ReceivedSpan): boolean {
  const index = byId(spans);
  let at: ReceivedSpan | undefined = span;
  while (at && at.parentSpanId !== '') at = index.get(at.parentSpanId);
  return at !== undefined;
}

function descendantsOf(spans: ReceivedSpan[], parent: ReceivedSpan): ReceivedSpan[] {
  const children = spans.filter((span) => span.parentSpanId === parent.spanId);
  return children.flatMap((child) => [child, ...descendantsOf(spans, child)]);
}

describe('tracing end to end (OTLP/HTTP receiver on loopback)', () => {
  let stack: Stack;
  let otlp: OtlpReceiver;
  let hooks: WebhookReceiver;
  let apiUrl: string;
  let worker: { child: ChildProcess; stderr: () => string };
  const children: ChildProcess[] = [];
  let dropDatabase: () => Promise<void>;
  const api = (pathname: string, init: RequestInit & { token?: string } = {}) =>
    callApi(apiUrl, () => stack.token(), pathname, init, stack.openApiDocument);

  before(async () => {
    const database = await freshPostgresDatabase();
    dropDatabase = () => database.drop();
    stack = await startStack({ databaseUrl: database.url, inProcessWorkers: false, eventsToken });
    otlp = await startOtlpReceiver();
    hooks = await startWebhookReceiver();
    const traced = {
      ...stack.workerEnv,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      // Short batches, so the test does not wait the default 5 s for each export.
      OTEL_BSP_SCHEDULE_DELAY: '200',
    };
    const [apiProcess, workerProcess] = await Promise.all([
      startProcess('api', { ...traced, OTEL_SERVICE_NAME: 'pixelshift-api' }, /API listening on (\S+)/),
      startProcess('worker', { ...traced, OTEL_SERVICE_NAME: 'pixelshift-worker' }, /worker polling/),
    ]);
    children.push(apiProcess.child, workerProcess.child);
    apiUrl = apiProcess.match[1]!;
    worker = workerProcess;
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await hooks?.close();
    await otlp?.close();
    await stack?.close();
    await dropDatabase?.();
  });

  async function submit(graph: unknown): Promise<string> {
    const submitted = await api('/v1/batches', {
      method: 'POST',
      body: JSON.stringify({ graphs: [graph], callbackUrl: hooks.url('/batch') }),
    });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    return (submitted.body as { batchId: string }).batchId;
  }

  async function finished(batchId: string) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const batch = await readBatch((pathname) => api(pathname), batchId);
      if (batch.state !== 'running') return batch;
      if (Date.now() > deadline) throw new Error(`batch ${batchId} still running`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  test('when a batch with two outputs runs, then one trace goes from POST /v1/batches through both workflows and the imaging activity to every upload and the webhook deliveries', async () => {
    const key = await stack.uploadFixture(photo, `in/traced/${photo}`);
    const out = (name: string) => ({
      type: 'StorageSink',
      bucket: stack.buckets.output,
      key: `traced/${name}`,
    });
    const batchId = await submit({
      transformUnits: [{ type: 'StorageSource', bucket: stack.buckets.input, key }],
      outputs: [
        {
          transformUnits: [
            { type: 'Resize', width: 200 },
            { type: 'ImageFormat', format: 'webp' },
            out('a.webp'),
          ],
        },
        { transformUnits: [{ type: 'Grayscale' }, { type: 'ImageFormat', format: 'png' }, out('b.png')] },
      ],
    });
    const batch = await finished(batchId);
    assert.equal(batch.state, 'succeeded', JSON.stringify(batch));
    await hooks.waitFor('/batch', (requests) => requests.some((r) => r.json.type === 'batch.completed'));

    const request = (spans: ReceivedSpan[]) =>
      spans.find(
        (span) => span.name === 'POST /v1/batches' && span.attributes['http.route'] === '/v1/batches',
      );
    const inTrace = (spans: ReceivedSpan[]) => {
      const root = request(spans);
      return root ? spans.filter((span) => span.traceId === root.traceId) : [];
    };
    const spans = inTrace(
      await otlp.waitFor((all) => {
        const trace = inTrace(all);
        return (
          trace.filter((span) => span.name === 'imaging.upload').length === 2 &&
          // Workflow spans arrive when their workflow ends: wait for the deliveries' to link up.
          trace.filter(
            (span) =>
              span.name === 'RunActivity:attemptWebhookDelivery' &&
              pathOf(trace, span).slice(0, 3).join() ===
                'POST /v1/batches,StartWorkflow:batchWorkflow,RunWorkflow:batchWorkflow',
          ).length >= 2 &&
          trace.some((span) => span.name === 'RunWorkflow:batchWorkflow')
        );
      }),
    );
    const root = request(spans)!;
    assert.equal(root.parentSpanId, '', 'the request starts the trace');
    assert.equal(root.service, 'pixelshift-api');
    assert.equal(root.kind, 2, 'a server span');

    const activity = spans.find((span) => span.name === 'RunActivity:runGraph')!;
    assert.ok(activity, 'the imaging activity is in the trace');
    assert.equal(activity.service, 'pixelshift-worker');
    assert.deepEqual(pathOf(spans, activity), [
      'POST /v1/batches',
      'StartWorkflow:batchWorkflow',
      'RunWorkflow:batchWorkflow',
      'StartChildWorkflow:graphWorkflow',
      'RunWorkflow:graphWorkflow',
      'StartActivity:runGraph',
      'RunActivity:runGraph',
    ]);
    const imaging = descendantsOf(spans, activity);
    const count = (name: string) => imaging.filter((span) => span.name === name).length;
    assert.equal(count('imaging.download'), 1);
    assert.ok(count('imaging.stage') >= 1);
    assert.equal(count('imaging.encode'), 2);
    assert.equal(count('imaging.upload'), 2);
    assert.deepEqual(
      imaging
        .filter((span) => span.name === 'imaging.upload')
        .map((span) => span.attributes['pixelshift.storage.key'])
        .sort(),
      ['traced/a.webp', 'traced/b.png'],
    );
    // S3 requests are HTTP client spans: the source's GET under the download, a PUT under each upload.
    const download = imaging.find((span) => span.name === 'imaging.download')!;
    const requests = (parent: ReceivedSpan, method: string) =>
      descendantsOf(spans, parent).filter(
        (span) => span.kind === 3 && span.attributes['http.method'] === method,
      );
    assert.ok(requests(download, 'GET').length >= 1, 'the S3 read is traced');
    for (const upload of imaging.filter((span) => span.name === 'imaging.upload'))
      assert.ok(requests(upload, 'PUT').length >= 1, 'each S3 write is traced');
    // pg: the API's inserts for the batch are inside its request.
    assert.ok(
      descendantsOf(spans, root).some((span) => span.attributes['db.system'] === 'postgresql'),
      'the database calls are traced',
    );

    // Webhook deliveries: their workflows and attempts, down to the HTTP POST to the receiver.
    const attempts = spans.filter((span) => span.name === 'RunActivity:attemptWebhookDelivery');
    for (const attempt of attempts)
      assert.ok(pathOf(spans, attempt).includes('RunWorkflow:deliveryWorkflow'), 'a delivery workflow');
    const posts = attempts.flatMap((attempt) =>
      descendantsOf(spans, attempt).filter((span) => span.kind === 3 && span.name === 'POST'),
    );
    assert.ok(posts.length >= 2, 'each attempt POSTs to the receiver');
    // The receiver got the trace context with the delivery.
    const delivered = hooks.requests('/batch');
    assert.ok(delivered.every((r) => String(r.headers.traceparent).includes(root.traceId)));
    assert.equal(otlp.rejected(), 0);
  });

  test('when an imaging activity logs, then its log line carries the trace id and span id of its trace', async () => {
    const batchId = await submit({
      transformUnits: [{ type: 'StorageSource', bucket: stack.buckets.input, key: 'in/traced/missing.jpg' }],
      outputs: [
        {
          transformUnits: [
            { type: 'Resize', width: 64 },
            { type: 'ImageFormat', format: 'png' },
            { type: 'StorageSink', bucket: stack.buckets.output, key: 'traced/missing.png' },
          ],
        },
      ],
    });
    const batch = await finished(batchId);
    assert.equal(batch.graphs[0]!.error?.code, 'source_not_found');
    const line = worker
      .stderr()
      .split('\n')
      .find((text) => text.includes('graph failed: source_not_found') && text.includes('missing.jpg'));
    assert.ok(line, worker.stderr());
    const traceId = line.match(/trace_id: '([0-9a-f]{32})'/)?.[1];
    const spanId = line.match(/span_id: '([0-9a-f]{16})'/)?.[1];
    assert.ok(traceId && spanId, line);
    // The batch's own spans arrive when it has ended: wait until the chain reaches the request.
    const spans = await otlp.waitFor((all) => {
      const span = all.find((candidate) => candidate.spanId === spanId);
      return span !== undefined && pathOf(all, span)[0] === 'POST /v1/batches';
    });
    const activity = spans.find((span) => span.spanId === spanId)!;
    assert.equal(activity.traceId, traceId);
    assert.equal(activity.name, 'RunActivity:runGraph');
    assert.equal(
      pathOf(spans, activity)[0],
      'POST /v1/batches',
      'the line belongs to the batch request’s trace',
    );
  });

  test('when a bucket event arrives on POST /v1/events/s3, then the run it starts is in the trace of that request', async () => {
    const rule = await api('/v1/rules', {
      method: 'POST',
      body: JSON.stringify({
        bucket: stack.buckets.input,
        prefix: 'events/',
        template: {
          transformUnits: [
            { type: 'Resize', width: 64 },
            { type: 'ImageFormat', format: 'webp' },
            { type: 'StorageSink', bucket: stack.buckets.output, key: 'events/{name}.webp' },
          ],
        },
      }),
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));
    const body = readFileSync(fixturePath(photo));
    const objectKey = `events/${photo}`;
    const put = await stack.s3.send(
      new PutObjectCommand({
        Bucket: stack.buckets.input,
        Key: objectKey,
        Body: body,
        ContentType: 'image/jpeg',
      }),
    );
    const event = s3RecordsBody(stack.buckets.input, [objectKey], '0A1B2C3D4E5F', {
      size: body.length,
      eTag: put.ETag!.replace(/"/g, ''),
    });
    const answer = await api('/v1/events/s3', {
      method: 'POST',
      body: JSON.stringify(event),
      token: eventsToken,
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const [run] = (answer.body as { runs: { workflowId: string }[] }).runs;
    assert.ok(run, JSON.stringify(answer.body));

    const spans = await otlp.waitFor((all) =>
      all.some(
        (span) =>
          span.name === 'RunActivity:runGraph' &&
          span.attributes.temporalWorkflowId === run.workflowId &&
          reachesRoot(all, span),
      ),
    );
    const activity = spans.find(
      (span) => span.name === 'RunActivity:runGraph' && span.attributes.temporalWorkflowId === run.workflowId,
    )!;
    const path = pathOf(spans, activity);
    assert.equal(path[0], 'POST /v1/events/s3');
    assert.ok(path.includes('RunWorkflow:graphWorkflow'), path.join(' → '));
  });
});
