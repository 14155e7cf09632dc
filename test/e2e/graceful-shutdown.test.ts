/**
 * SIGTERM, as an orchestrator sends it before replacing a process: the worker stops polling but lets the
 * activity it is running finish, and the API stops accepting connections but answers the request it is
 * in the middle of and ends its event streams; both then exit 0.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { exitOf, startApiProcess, type ApiProcess } from '../support/api-process.js';
import { threeOutputGraph } from '../support/graphs.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import { assertDocumented, startStack, type Stack } from '../support/stack.js';
import { startWorkerProcess } from '../support/worker-process.js';

const photo = 'jpeg-large-4608x1976-phone.jpg';

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function submitBatch(
  stack: Stack,
  graphs: number,
  prefix: string,
  api: Stack['api'] = (pathname, init) => stack.api(pathname, init),
): Promise<string> {
  const key = await stack.uploadFixture(photo, `in/${prefix}/${photo}`);
  const body = {
    graphs: Array.from({ length: graphs }, (_, i) =>
      threeOutputGraph(stack.buckets.input, key, stack.buckets.output, `${prefix}/${i}`),
    ),
  };
  const submitted = await api('/v1/batches', { method: 'POST', body: JSON.stringify(body) });
  assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
  return (submitted.body as { batchId: string }).batchId;
}

describe('graceful shutdown', () => {
  test('when a worker gets SIGTERM mid-activity, then it finishes the activity, exits 0, and the graph succeeds without a retry', async () => {
    const database = await freshPostgresDatabase();
    const stack = await startStack({ databaseUrl: database.url, inProcessWorkers: false });
    const children: ChildProcess[] = [];
    after(async () => {
      for (const child of children) child.kill('SIGKILL');
      await stack.close();
      await database.drop();
    });
    const worker = await startWorkerProcess({
      ...stack.workerEnv,
      PIXELSHIFT_IMAGING_SLOTS: '1',
      PIXELSHIFT_WORKER_DRAIN: '2m',
    });
    children.push(worker);
    const batchId = await submitBatch(stack, 1, 'drain');

    // The graph's imaging activity has been picked up by this worker and is running.
    let workflowId = '';
    await waitUntil(async () => {
      const status = await stack.orchestrator.getBatchStatus(stack.account.accountId, batchId);
      workflowId = status?.graphs[0]?.workflowId ?? '';
      if (!workflowId) return false;
      // The batch names its graphs' workflows before it starts them.
      const description = await stack.temporal.client.workflow
        .getHandle(workflowId)
        .describe()
        .catch((error: unknown) => {
          if (error instanceof WorkflowNotFoundError) return undefined;
          throw error;
        });
      const raw = description?.raw ?? {};
      return (raw.pendingActivities ?? []).some(
        (activity) => activity.activityType?.name === 'runGraph' && Number(activity.state) === 2,
      );
    });
    worker.kill('SIGTERM');
    assert.equal(await exitOf(worker), 0);

    // The activity completed on its first attempt: it was finished by the stopping worker, not handed back.
    const history = await stack.temporal.client.workflow.getHandle(workflowId).fetchHistory();
    const events = history.events ?? [];
    assert.ok(events.some((event) => event.activityTaskCompletedEventAttributes));
    const attempts = events.map((event) => event.activityTaskStartedEventAttributes?.attempt ?? 0);
    assert.equal(Math.max(...attempts), 1);

    // The workflow's remaining steps need a worker polling again.
    children.push(await startWorkerProcess({ ...stack.workerEnv }));
    const status = await stack.waitForBatch(batchId, 120_000);
    assert.equal(status.state, 'succeeded', JSON.stringify(status.counts));
  });

  test('when the API gets SIGTERM with a request in flight and a stream open, then it refuses new connections, answers the request, ends the stream and exits 0', async () => {
    const database = await freshPostgresDatabase();
    const stack = await startStack({ databaseUrl: database.url, inProcessWorkers: false });
    const apis: ApiProcess[] = [];
    after(async () => {
      for (const started of apis) started.child.kill('SIGKILL');
      await stack.close();
      await database.drop();
    });
    const api = await startApiProcess(stack.workerEnv);
    apis.push(api);
    const base = new URL(api.url);
    const token = await stack.token();
    const callProcess: Stack['api'] = async (pathname, init = {}) => {
      const response = await fetch(new URL(pathname, base), {
        ...init,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      });
      const text = await response.text();
      assertDocumented(stack.openApiDocument, init.method ?? 'GET', pathname, response, text);
      return { status: response.status, body: JSON.parse(text) as unknown, headers: response.headers };
    };

    // An event stream of a batch that stays queued (no worker runs here), so it would never end by itself.
    const streamed = await submitBatch(stack, 1, 'stream', callProcess);
    const stream = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http
        .get(
          new URL(`/v1/batches/${streamed}/events`, base),
          { headers: { authorization: `Bearer ${token}` } },
          resolve,
        )
        .once('error', reject),
    );
    assert.equal(stream.statusCode, 200);
    const streamEnded = new Promise<void>((resolve) => {
      stream.resume();
      stream.once('end', resolve);
      stream.once('close', resolve);
    });

    // A request whose headers the server has read (it answered `100 Continue`) but whose body is still coming.
    const key = await stack.uploadFixture(photo, `in/slow/${photo}`);
    const body = JSON.stringify({
      graphs: [threeOutputGraph(stack.buckets.input, key, stack.buckets.output, 'slow/0')],
    });
    const slow = http.request(new URL('/v1/batches', base), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        expect: '100-continue',
      },
    });
    const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
      slow.once('response', (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.once('end', () => resolve({ status: response.statusCode ?? 0, text }));
      });
      slow.once('error', reject);
    });
    await new Promise<void>((resolve) => slow.once('continue', resolve));
    slow.write(body.slice(0, 10));

    api.child.kill('SIGTERM');
    await waitUntil(() => Promise.resolve(api.stderr().includes('stopping:')));
    await streamEnded;
    const refused = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(base.port), base.hostname);
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    assert.equal(refused, 'ECONNREFUSED');

    slow.end(body.slice(10));
    const response = await answered;
    assert.equal(response.status, 201, response.text);
    assert.equal(await exitOf(api.child), 0);
  });
});
