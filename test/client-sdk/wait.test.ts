/**
 * Waiting on a batch or run: the SDK follows the event stream, resumes a cut stream after the last event
 * it saw, treats 204 as the end, and polls when streaming keeps failing.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, test } from 'node:test';
import {
  createClient,
  PixelshiftApiError,
  type BatchProgress,
  type RunProgress,
} from '../../packages/client/src/index.js';
import { sendJson, startFakeApi, type FakeApi, type ReceivedRequest } from './fake-api.js';

let api: FakeApi | undefined;
afterEach(() => api?.close());

function clientOf(server: FakeApi) {
  return createClient({
    baseUrl: server.url,
    clientId: 'key_1',
    clientSecret: 's3cret',
    retry: { baseDelayMs: 5, maxDelayMs: 50 },
  });
}

const counts = (succeeded: number, running: number) => ({ succeeded, running });
const graphEvent = (graphIndex: number, state: string, previousState: string) => ({
  batchId: 'b_1',
  graphIndex,
  state,
  previousState,
  at: '2026-01-01T00:00:00.000Z',
  counts: counts(graphIndex + 1, 2 - graphIndex),
});
const finalStatus = { batchId: 'b_1', state: 'succeeded', graphCount: 3, counts: counts(3, 0) };

function openStream(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write('retry: 1000\n\n');
}
function writeEvent(res: ServerResponse, id: number, event: string, data: unknown): void {
  res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
const isEvents = (request: ReceivedRequest) => request.path.endsWith('/events');

describe('batches.wait', () => {
  test('when the stream is cut mid-way, then it reconnects with Last-Event-ID, reports every state change once and resolves with the final status', async () => {
    const streamRequests: ReceivedRequest[] = [];
    // The connection is cut only once the client has seen event 2, so the cut falls mid-stream.
    let secondEventSeen!: () => void;
    const cutAfterSecondEvent = new Promise<void>((resolve) => (secondEventSeen = resolve));
    api = await startFakeApi(async (request, res) => {
      if (!isEvents(request)) return sendJson(res, 200, finalStatus);
      streamRequests.push(request);
      openStream(res);
      if (streamRequests.length === 1) {
        writeEvent(res, 1, 'graph', graphEvent(0, 'succeeded', 'running'));
        res.write(': heartbeat\n\n');
        writeEvent(res, 2, 'graph', graphEvent(1, 'succeeded', 'running'));
        // Half an event, then the connection drops: that event must come again after reconnecting.
        res.write('id: 3\nevent: graph\ndata: {"batchId"');
        await cutAfterSecondEvent;
        res.socket?.destroy();
        return;
      }
      // Resumed after event 2: the server sends what follows it.
      writeEvent(res, 3, 'graph', graphEvent(2, 'succeeded', 'running'));
      writeEvent(res, 4, 'end', {
        batchId: 'b_1',
        state: 'succeeded',
        at: '2026-01-01T00:00:01.000Z',
        counts: counts(3, 0),
      });
      res.end();
    });

    const seen: BatchProgress[] = [];
    const status = await clientOf(api).batches.wait('b_1', {
      onProgress: (progress) => {
        seen.push(progress);
        if (progress.type === 'graph' && progress.event.graphIndex === 1) secondEventSeen();
      },
    });

    assert.equal(status.state, 'succeeded');
    assert.equal(streamRequests.length, 2);
    assert.equal(streamRequests[0]!.headers['last-event-id'], undefined);
    assert.equal(streamRequests[1]!.headers['last-event-id'], '2');
    assert.equal(streamRequests[1]!.headers.accept, 'text/event-stream');
    assert.deepEqual(
      seen.map((progress) =>
        progress.type === 'graph' ? `graph ${progress.event.graphIndex}` : progress.type,
      ),
      ['graph 0', 'graph 1', 'graph 2', 'end'],
    );
  });

  test('when the stream falls silent without even a heartbeat, then it counts as cut and is resumed after the last event', async () => {
    const streamRequests: ReceivedRequest[] = [];
    api = await startFakeApi((request, res) => {
      if (!isEvents(request)) return sendJson(res, 200, finalStatus);
      streamRequests.push(request);
      openStream(res);
      if (streamRequests.length === 1) {
        // Then nothing more: the connection stays open but silent.
        writeEvent(res, 1, 'graph', graphEvent(0, 'succeeded', 'running'));
        return;
      }
      writeEvent(res, 2, 'end', {
        batchId: 'b_1',
        state: 'succeeded',
        at: '2026-01-01T00:00:01.000Z',
        counts: counts(3, 0),
      });
      res.end();
    });

    const status = await clientOf(api).batches.wait('b_1', { idleTimeoutMs: 200 });

    assert.equal(status.state, 'succeeded');
    assert.equal(streamRequests.length, 2);
    assert.equal(streamRequests[1]!.headers['last-event-id'], '1');
  });

  test('when the stream answers 204 because the batch already ended, then the final status is read and returned', async () => {
    api = await startFakeApi((request, res) => {
      if (isEvents(request)) {
        res.writeHead(204);
        res.end();
      } else sendJson(res, 200, finalStatus);
    });

    const status = await clientOf(api).batches.wait('b_1');

    assert.deepEqual(status, finalStatus);
  });

  test('when streaming keeps failing, then it polls the status until the batch ends and reports each polled status', async () => {
    let polls = 0;
    api = await startFakeApi((request, res) => {
      if (isEvents(request))
        return sendJson(res, 500, { error: { code: 'internal_error', message: 'boom' } });
      polls++;
      sendJson(res, 200, polls < 3 ? { ...finalStatus, state: 'running' } : finalStatus);
    });

    const seen: BatchProgress[] = [];
    const status = await clientOf(api).batches.wait('b_1', {
      onProgress: (progress) => seen.push(progress),
      maxStreamFailures: 2,
      pollIntervalMs: { first: 1, max: 5 },
    });

    assert.equal(status.state, 'succeeded');
    assert.equal(api.requests.filter(isEvents).length, 2);
    assert.deepEqual(
      seen.map((progress) => (progress.type === 'status' ? progress.status.state : progress.type)),
      ['running', 'running', 'succeeded'],
    );
  });

  test('when the batch is not the account’s, then the 404 surfaces at once instead of polling', async () => {
    api = await startFakeApi((_request, res) =>
      sendJson(res, 404, { error: { code: 'not_found', message: 'The batch was not found' } }),
    );

    await assert.rejects(clientOf(api).batches.wait('b_other'), (error) => {
      assert.ok(error instanceof PixelshiftApiError);
      assert.equal(error.code, 'not_found');
      return true;
    });
    assert.equal(api.requests.length, 1);
  });

  test('when the signal aborts while the stream is open, then waiting stops with the abort reason', async () => {
    const controller = new AbortController();
    api = await startFakeApi((_request, res) => {
      openStream(res);
      writeEvent(res, 1, 'graph', graphEvent(0, 'running', 'queued'));
    });

    await assert.rejects(
      clientOf(api).batches.wait('b_1', {
        signal: controller.signal,
        onProgress: () => controller.abort(new Error('stop waiting')),
      }),
      /stop waiting/,
    );
  });
});

describe('runs.wait', () => {
  test('when the run’s stream reports its states and then its end, then each is reported and the final run returned', async () => {
    const runId = encodeURIComponent('run/s3/rule_1/photos/in/cat.jpg');
    const finalRun = {
      runId,
      workflowId: 'run/s3/rule_1/photos/in/cat.jpg',
      state: 'succeeded',
      sinks: [],
      failures: [],
    };
    api = await startFakeApi((request, res) => {
      if (!isEvents(request)) return sendJson(res, 200, finalRun);
      assert.equal(request.path, `/v1/runs/${runId}/events`);
      openStream(res);
      const change = (state: string, previousState: string) => ({
        runId,
        state,
        previousState,
        at: '2026-01-01T00:00:00.000Z',
      });
      writeEvent(res, 1, 'state', change('running', 'queued'));
      writeEvent(res, 2, 'end', change('succeeded', 'running'));
      res.end();
    });

    const seen: RunProgress[] = [];
    const run = await clientOf(api).runs.wait(runId, { onProgress: (progress) => seen.push(progress) });

    assert.equal(run.state, 'succeeded');
    assert.equal(api.requests.at(-1)!.path, `/v1/runs/${runId}`);
    assert.deepEqual(
      seen.map((progress) =>
        progress.type === 'status' ? 'status' : `${progress.type} ${progress.event.state}`,
      ),
      ['state running', 'end succeeded'],
    );
  });
});
