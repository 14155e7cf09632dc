import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { sql } from 'drizzle-orm';
import { startHttpServer, type HttpServer } from '../../../src/api/http-server.js';
import { openApiDocumentOf } from '../../../src/app/http-app.js';
import { advanceGraphRun, finishBatch, insertTriggeredRuns } from '../../../src/db/graph-runs.js';
import { graphWorkflowId } from '../../../src/core/jobs/workflow-ids.js';
import type { TransformGraph } from '../../../src/core/graph/graph.js';
import {
  createTestAccount,
  createTestApi,
  validGraph,
  type TestAccount,
  type TestApi,
} from '../../support/api-harness.js';
import { contractViolation } from '../../support/response-contract.js';

interface StreamEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/** An event stream as a client reads it: events as they arrive, heartbeats counted, the end awaited. */
interface StreamReader {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: StreamEvent[];
  heartbeats: number;
  /** Resolves once `count` events have arrived. */
  received(count: number): Promise<void>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** Cuts the connection from the client's side. */
  cut(): void;
}

const maxStreamsPerAccount = 2;
let api: TestApi;
let server: HttpServer;
let document: Record<string, unknown>;
before(async () => {
  api = await createTestApi({
    env: { PIXELSHIFT_MAX_STREAMS_PER_ACCOUNT: String(maxStreamsPerAccount) },
    streams: { pollMs: 20, heartbeatMs: 50, maxBufferedBytes: 64 * 1024 },
  });
  server = await startHttpServer(api.app, { host: '127.0.0.1', port: 0 });
  document = openApiDocumentOf(api.app) as unknown as Record<string, unknown>;
});
after(async () => {
  await server.close();
  await api.close();
});
/** What the streams sent that the OpenAPI document does not allow (checked block by block as they arrive). */
const contractViolations: string[] = [];
afterEach(() => assert.deepEqual(contractViolations.splice(0), []));

function openStream(path: string, headers: Record<string, string>): Promise<StreamReader> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${server.url}${path}`, { headers: { Accept: 'text/event-stream', ...headers } });
    req.on('error', reject);
    req.on('response', (res) => {
      const events: StreamEvent[] = [];
      const waiting: { count: number; resolve: () => void }[] = [];
      let buffer = '';
      const reader: StreamReader = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        heartbeats: 0,
        received: (count) =>
          new Promise((done) => {
            if (events.length >= count) done();
            else waiting.push({ count, resolve: done });
          }),
        ended: new Promise((done) => res.on('close', () => done())),
        cut: () => req.destroy(),
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith(': heartbeat')) reader.heartbeats += 1;
          const violation = contractViolation(document, 'GET', path, {
            status: reader.status,
            headers: { 'content-type': res.headers['content-type'] ?? '' },
            body: undefined,
            text: `${block}\n\n`,
          });
          if (violation) contractViolations.push(violation);
          const fields = Object.fromEntries(
            block
              .split('\n')
              .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
          );
          if (fields.data === undefined) continue;
          events.push({ id: Number(fields.id), event: fields.event!, data: JSON.parse(fields.data) });
        }
        for (const wait of waiting.filter((w) => events.length >= w.count)) wait.resolve();
      });
      resolve(reader);
    });
  });
}

async function submit(
  account: TestAccount,
  graphCount: number,
): Promise<{ batchId: string; graph: (i: number) => string }> {
  const graphs = Array.from({ length: graphCount }, (_, i) => validGraph(`in/${i}.jpg`, `out/${i}.webp`));
  const res = await request(api.app).post('/v1/batches').set(account.auth).send({ graphs }).expect(201);
  const batchId = res.body.batchId as string;
  return { batchId, graph: (index) => graphWorkflowId(account.accountId, batchId, index) };
}

const done = { state: 'succeeded' as const, sinks: [], failures: [] };
const summary = (events: StreamEvent[]) =>
  events.map((e) => [e.id, e.event, e.data.graphIndex ?? null, e.data.state]);

describe('GET /v1/batches/{id}/events', () => {
  test('when a running batch is followed, then each graph state change arrives in order with its counts, and the end closes the stream', async () => {
    const account = await createTestAccount(api);
    const { batchId, graph } = await submit(account, 2);
    const stream = await openStream(`/v1/batches/${batchId}/events`, account.auth);
    assert.equal(stream.status, 200);
    assert.match(String(stream.headers['content-type']), /^text\/event-stream/);

    await advanceGraphRun(api.db, graph(0), { state: 'running' });
    await stream.received(1);
    await advanceGraphRun(api.db, graph(1), {
      state: 'throttled',
      throttledUntil: new Date('2030-01-01T00:00:00Z'),
    });
    await advanceGraphRun(api.db, graph(1), { state: 'running' });
    await advanceGraphRun(api.db, graph(0), done);
    await advanceGraphRun(api.db, graph(1), {
      state: 'failed',
      error: { code: 'corrupt_input', message: 'truncated' },
    });
    await finishBatch(api.db, batchId, 'partial');
    await stream.ended;

    assert.deepEqual(summary(stream.events), [
      [1, 'graph', 0, 'running'],
      [2, 'graph', 1, 'throttled'],
      [3, 'graph', 1, 'running'],
      [4, 'graph', 0, 'succeeded'],
      [5, 'graph', 1, 'failed'],
      [6, 'end', null, 'partial'],
    ]);
    assert.deepEqual(stream.events[1]?.data.throttledUntil, '2030-01-01T00:00:00.000Z');
    assert.deepEqual(stream.events[4]?.data.error, { code: 'corrupt_input', message: 'truncated' });
    assert.deepEqual(stream.events[2]?.data.counts, {
      queued: 0,
      throttled: 0,
      running: 2,
      succeeded: 0,
      partial: 0,
      failed: 0,
      cancelled: 0,
      superseded: 0,
    });
    assert.deepEqual(stream.events[5]?.data.counts, {
      queued: 0,
      throttled: 0,
      running: 0,
      succeeded: 1,
      partial: 0,
      failed: 1,
      cancelled: 0,
      superseded: 0,
    });
  });

  test('when a stream is cut mid-way and resumed with Last-Event-ID, then it misses no change and repeats none, and its counts continue', async () => {
    const account = await createTestAccount(api);
    const { batchId, graph } = await submit(account, 3);
    const first = await openStream(`/v1/batches/${batchId}/events`, account.auth);
    for (const index of [0, 1, 2]) await advanceGraphRun(api.db, graph(index), { state: 'running' });
    await first.received(2);
    first.cut();
    // Changes made while no stream is open.
    await advanceGraphRun(api.db, graph(0), done);
    await advanceGraphRun(api.db, graph(1), done);
    const lastSeen = first.events.at(-1)!.id;

    const resumed = await openStream(`/v1/batches/${batchId}/events`, {
      ...account.auth,
      'Last-Event-ID': String(lastSeen),
    });
    await advanceGraphRun(api.db, graph(2), done);
    await finishBatch(api.db, batchId, 'succeeded');
    await resumed.ended;

    const ids = [...first.events, ...resumed.events].map((e) => e.id);
    assert.deepEqual(
      [...first.events.map((e) => e.id), ...resumed.events.map((e) => e.id)].filter((id) => id > lastSeen),
      resumed.events.map((e) => e.id),
    );
    assert.deepEqual(
      ids.filter((id) => id <= lastSeen).concat(resumed.events.map((e) => e.id)),
      [1, 2, 3, 4, 5, 6, 7],
    );
    assert.deepEqual(resumed.events.at(-1)?.data.counts, {
      queued: 0,
      throttled: 0,
      running: 0,
      succeeded: 3,
      partial: 0,
      failed: 0,
      cancelled: 0,
      superseded: 0,
    });
  });

  test('when the batch has already ended, then a new stream sends every change and the end at once and closes; resumed after the end it is 204', async () => {
    const account = await createTestAccount(api);
    const { batchId } = await submit(account, 2);
    await finishBatch(api.db, batchId, 'cancelled');
    const stream = await openStream(`/v1/batches/${batchId}/events`, account.auth);
    await stream.ended;
    assert.deepEqual(summary(stream.events), [
      [1, 'graph', 0, 'cancelled'],
      [2, 'graph', 1, 'cancelled'],
      [3, 'end', null, 'cancelled'],
    ]);

    const again = await openStream(`/v1/batches/${batchId}/events`, {
      ...account.auth,
      'Last-Event-ID': '3',
    });
    await again.ended;
    assert.equal(again.status, 204);
  });

  test('when Last-Event-ID is not an event id, then 400 invalid_request', async () => {
    const account = await createTestAccount(api);
    const { batchId } = await submit(account, 1);
    for (const id of ['abc', '-1', '01', '1.5']) {
      const res = await request(api.app)
        .get(`/v1/batches/${batchId}/events`)
        .set(account.auth)
        .set('Last-Event-ID', id);
      assert.equal(res.status, 400, id);
      assert.equal(res.body.error.code, 'invalid_request', id);
    }
  });

  test('when the batch belongs to another account, then 404 not_found and no stream is held', async () => {
    const owner = await createTestAccount(api);
    const intruder = await createTestAccount(api);
    const { batchId } = await submit(owner, 1);
    const res = await request(api.app).get(`/v1/batches/${batchId}/events`).set(intruder.auth).expect(404);
    assert.equal(res.body.error.code, 'not_found');
    await request(api.app).get('/v1/batches/b_not-an-id/events').set(intruder.auth).expect(404);
    await request(api.app).get(`/v1/batches/${batchId}/events`).expect(401);
  });

  test('when an account holds as many streams as it may, then one more is 429 too_many_streams, and closing one frees its place', async () => {
    const account = await createTestAccount(api);
    const { batchId } = await submit(account, 1);
    const path = `/v1/batches/${batchId}/events`;
    const held = [await openStream(path, account.auth), await openStream(path, account.auth)];
    const refused = await request(api.app).get(path).set(account.auth).expect(429);
    assert.equal(refused.body.error.code, 'too_many_streams');
    assert.ok(refused.headers['retry-after']);
    const other = await createTestAccount(api);
    const { batchId: otherBatch } = await submit(other, 1);
    const othersStream = await openStream(`/v1/batches/${otherBatch}/events`, other.auth);
    assert.equal(othersStream.status, 200, 'the bound is per account');

    held[0]!.cut();
    const reopened = await eventually(async () => {
      const stream = await openStream(path, account.auth);
      if (stream.status !== 200) await stream.ended;
      return stream.status === 200 ? stream : undefined;
    });
    for (const stream of [held[1]!, reopened, othersStream]) stream.cut();
  });

  test('when nothing changes for a while, then the stream carries heartbeat comments and stays open', async () => {
    const account = await createTestAccount(api);
    const { batchId } = await submit(account, 1);
    const stream = await openStream(`/v1/batches/${batchId}/events`, account.auth);
    await eventually(() => Promise.resolve(stream.heartbeats >= 2 ? true : undefined));
    assert.equal(stream.events.length, 0);
    stream.cut();
  });

  test('when a client never reads, then the server buffers a bounded amount and disconnects it, freeing its place', async () => {
    const account = await createTestAccount(api);
    const { batchId } = await submit(account, 300);
    const { port } = new URL(server.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    socket.pause();
    socket.write(
      `GET /v1/batches/${batchId}/events HTTP/1.1\r\nHost: test\r\nAuthorization: ${account.auth.Authorization}\r\n\r\n`,
    );
    const second = await openStream(`/v1/batches/${batchId}/events`, account.auth);
    // Megabytes of events, more than the kernel's socket buffers take: every graph fails with a long message.
    await api.db.execute(sql`select graph_run_advance(workflow_id, 'failed', null, null, 'corrupt_input',
      repeat('x', 20000), null, null, null) from graph_runs where batch_id = ${batchId}`);
    second.cut();
    // The reader's place is freed once the server has dropped it: a third stream fits under the bound.
    const third = await eventually(async () => {
      const stream = await openStream(`/v1/batches/${batchId}/events`, account.auth);
      if (stream.status !== 200) await stream.ended;
      return stream.status === 200 ? stream : undefined;
    });
    const fourth = await openStream(`/v1/batches/${batchId}/events`, account.auth);
    if (fourth.status === 200) {
      fourth.cut();
      third.cut();
    } else {
      third.cut();
      assert.fail('the stream of the client that never read still holds its place');
    }
    socket.destroy();
  });
});

describe('GET /v1/runs/{runId}/events', () => {
  const runGraph = (key: string): TransformGraph =>
    validGraph(key, `out/${key}.webp`) as unknown as TransformGraph;

  test('when a triggered run moves to its end, then each state arrives and the end closes the stream; another account gets 404 run_not_found', async () => {
    const account = await createTestAccount(api);
    const workflowId = `s3/default/photos/${account.accountId}/cat.jpg`;
    await insertTriggeredRuns(api.db, [
      {
        accountId: account.accountId,
        workflowId,
        trigger: 's3',
        triggerId: 'rule',
        graph: runGraph('cat.jpg'),
      },
    ]);
    const path = `/v1/runs/${encodeURIComponent(workflowId)}/events`;
    const stream = await openStream(path, account.auth);
    await advanceGraphRun(api.db, workflowId, { state: 'running' });
    await advanceGraphRun(api.db, workflowId, done);
    await stream.ended;
    assert.deepEqual(
      stream.events.map((e) => [e.id, e.event, e.data.state, e.data.runId]),
      [
        [1, 'state', 'running', encodeURIComponent(workflowId)],
        [2, 'end', 'succeeded', encodeURIComponent(workflowId)],
      ],
    );

    const intruder = await createTestAccount(api);
    const res = await request(api.app).get(path).set(intruder.auth).expect(404);
    assert.equal(res.body.error.code, 'run_not_found');
  });
});

describe('shutdown', () => {
  test('when the server closes, then its open streams end and the close does not wait for them', async () => {
    const own = await startHttpServer(api.app, { host: '127.0.0.1', port: 0 });
    const account = await createTestAccount(api);
    const { batchId } = await submit(account, 1);
    const res = await new Promise<http.IncomingMessage>((resolve) =>
      http.get(`${own.url}/v1/batches/${batchId}/events`, { headers: account.auth }, resolve),
    );
    assert.equal(res.statusCode, 200);
    res.resume();
    const ended = once(res, 'end');
    // A grace far longer than any test: closing must not need it.
    await own.close(10 * 60_000);
    await ended;
  });
});

/** Retries until `attempt` gives a value (the test's own timeout bounds it). */
async function eventually<T>(attempt: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    await sleep(20);
  }
}
