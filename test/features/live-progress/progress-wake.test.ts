/**
 * Streams are woken by the change log's signals, not only by the hub's poll: every test here runs an API
 * whose poll is ten minutes apart, so a change that arrives at all arrived by its signal. The last tests
 * also keep ten minutes between two reads, so an end that arrives at all was read at once.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import request from 'supertest';
import { sql } from 'drizzle-orm';
import { startHttpServer, type HttpServer } from '../../../src/api/http-server.js';
import { advanceGraphRun, finishBatch, insertTriggeredRuns } from '../../../src/db/graph-runs.js';
import { queryRows, type Database } from '../../../src/db/database.js';
import { graphWorkflowId } from '../../../src/core/jobs/workflow-ids.js';
import type { TransformGraph } from '../../../src/core/graph/graph.js';
import {
  createTestAccount,
  createTestApi,
  validGraph,
  type TestApi,
  type TestApiOptions,
} from '../../support/api-harness.js';
import { databaseTargets, type DatabaseTarget } from '../../support/test-databases.js';

const tenMinutes = 600_000;

/** The ids of a stream's events as they arrive; `next(id)` resolves once the event with that id came. */
async function followIds(url: string, auth: Record<string, string>) {
  const response = await fetch(url, { headers: { Accept: 'text/event-stream', ...auth } });
  assert.equal(response.status, 200);
  const ids: number[] = [];
  const waiters: { id: number; resolve: () => void }[] = [];
  const decoder = new TextDecoder();
  void (async () => {
    for await (const chunk of response.body!) {
      for (const match of decoder.decode(chunk, { stream: true }).matchAll(/^id: (\d+)$/gm)) {
        ids.push(Number(match[1]));
      }
      for (const waiter of waiters.filter((w) => ids.includes(w.id))) waiter.resolve();
    }
  })().catch(() => undefined);
  return {
    ids,
    next: (id: number) =>
      new Promise<void>((resolve) => {
        if (ids.includes(id)) resolve();
        else waiters.push({ id, resolve });
      }),
  };
}

/**
 * An API with the given stream timings, started by the suite's first test and closed after the suite.
 * `start` makes an account with a batch of two graphs; `anotherProcess` is a pool of its own, as another
 * process of the deployment would write through.
 */
function liveApi(target: DatabaseTarget, streams: TestApiOptions['streams']) {
  let api: TestApi | undefined;
  let server: HttpServer | undefined;
  let elsewhere: Promise<Database> | undefined;
  after(async () => {
    await server?.close();
    await (await elsewhere)?.close();
    await api?.close();
  });
  const live = {
    get api(): TestApi {
      return api!;
    },
    get server(): HttpServer {
      return server!;
    },
    anotherProcess: async (): Promise<Database> => (elsewhere ??= live.api.database.openAnotherClient()),
    start: async () => {
      api ??= await createTestApi({ target, streams });
      server ??= await startHttpServer(api.app, { host: '127.0.0.1', port: 0 });
      const account = await createTestAccount(api);
      const graphs = [validGraph('in/0.jpg', 'out/0.webp'), validGraph('in/1.jpg', 'out/1.webp')];
      const res = await request(api.app).post('/v1/batches').set(account.auth).send({ graphs }).expect(201);
      const batchId = res.body.batchId as string;
      const graph = (index: number) => graphWorkflowId(account.accountId, batchId, index);
      return { account, batchId, graph };
    },
  };
  return live;
}

for (const target of databaseTargets()) {
  // Without its signal a change would wait the ten minutes: each test fails well before.
  describe(`live progress signals on ${target.name}`, { timeout: 30_000 }, () => {
    const live = liveApi(target, { pollMs: tenMinutes, heartbeatMs: tenMinutes });
    const { start } = live;

    test('when this process writes a change, then an open stream gets it without waiting for the poll', async () => {
      const { account, batchId, graph } = await start();
      const stream = await followIds(`${live.server.url}/v1/batches/${batchId}/events`, account.auth);
      await advanceGraphRun(live.api.db, graph(0), { state: 'running' });
      await stream.next(1);
      await advanceGraphRun(live.api.db, graph(1), { state: 'running' });
      await advanceGraphRun(live.api.db, graph(0), { state: 'succeeded', sinks: [], failures: [] });
      await stream.next(3);
      await finishBatch(live.api.db, batchId, 'partial');
      await stream.next(4);
      assert.deepEqual(stream.ids, [1, 2, 3, 4]);
    });

    if (target.name === 'postgres') {
      /** A write as another process makes it: its own pool, and the database function called directly. */
      const advanceElsewhere = async (workflowId: string, state: string) => {
        await queryRows(
          (await live.anotherProcess()).db,
          sql`select graph_run_advance(${workflowId}, ${state}, null, null, null, null, null, null, null)`,
        );
      };

      test('when another process writes a change, then its NOTIFY wakes the stream', async () => {
        const { account, batchId, graph } = await start();
        const stream = await followIds(`${live.server.url}/v1/batches/${batchId}/events`, account.auth);
        await advanceElsewhere(graph(0), 'running');
        await stream.next(1);
        assert.deepEqual(stream.ids, [1]);
      });

      test('when the listening connection is cut, then it reconnects and the next change still wakes the stream', async () => {
        const { account, batchId, graph } = await start();
        const stream = await followIds(`${live.server.url}/v1/batches/${batchId}/events`, account.auth);
        await advanceElsewhere(graph(0), 'running');
        await stream.next(1);
        const cut = await queryRows<{ cut: boolean }>(
          live.api.db,
          sql`select pg_terminate_backend(pid) as cut from pg_stat_activity
            where datname = current_database() and query = 'listen pixelshift_progress'`,
        );
        assert.equal(cut.length, 1, 'exactly one connection listens');
        // The change is written while nobody may be listening: the reconnect reads the log again.
        await advanceElsewhere(graph(1), 'running');
        await stream.next(2);
        await advanceElsewhere(graph(0), 'succeeded');
        await stream.next(3);
        assert.deepEqual(stream.ids, [1, 2, 3]);
      });
    }
  });
}

for (const target of databaseTargets()) {
  // Ten minutes between two reads: without reading an end at once, each test fails well before.
  describe(`live progress ends on ${target.name}`, { timeout: 30_000 }, () => {
    const live = liveApi(target, { pollMs: tenMinutes, wakeGapMs: tenMinutes, heartbeatMs: tenMinutes });
    const { start } = live;

    test('when a followed batch ends, then its stream gets the end at once, with the change before it', async () => {
      const { account, batchId, graph } = await start();
      await advanceGraphRun(live.api.db, graph(0), { state: 'running' });
      const stream = await followIds(`${live.server.url}/v1/batches/${batchId}/events`, account.auth);
      // The stream's first read took change 1: anything after it waits ten minutes for the next read.
      await stream.next(1);
      await advanceGraphRun(live.api.db, graph(1), { state: 'running' });
      await finishBatch(live.api.db, batchId, 'cancelled');
      // Graph 0 and 1 cancelled (changes 3 and 4), then the batch's end (5).
      await stream.next(5);
      assert.deepEqual(stream.ids, [1, 2, 3, 4, 5]);
    });

    test('when a followed triggered run ends, then its stream gets the end at once', async () => {
      const { account } = await start();
      const workflowId = `s3/default/photos/${account.accountId}/cat.jpg`;
      await insertTriggeredRuns(live.api.db, [
        {
          accountId: account.accountId,
          workflowId,
          trigger: 's3',
          triggerId: 'rule',
          graph: validGraph('cat.jpg', 'out/cat.webp') as unknown as TransformGraph,
        },
      ]);
      await advanceGraphRun(live.api.db, workflowId, { state: 'running' });
      const stream = await followIds(
        `${live.server.url}/v1/runs/${encodeURIComponent(workflowId)}/events`,
        account.auth,
      );
      await stream.next(1);
      await advanceGraphRun(live.api.db, workflowId, {
        state: 'failed',
        error: { code: 'source_corrupt', message: 'x' },
      });
      await stream.next(2);
      assert.deepEqual(stream.ids, [1, 2]);
    });

    if (target.name === 'postgres') {
      test('when another process ends a followed batch, then its NOTIFY names the batch and the stream gets the end at once', async () => {
        const { account, batchId, graph } = await start();
        await advanceGraphRun(live.api.db, graph(0), { state: 'running' });
        const stream = await followIds(`${live.server.url}/v1/batches/${batchId}/events`, account.auth);
        await stream.next(1);
        // Another handle: this process's own signal does not reach the hub, only the NOTIFY does.
        await finishBatch((await live.anotherProcess()).db, batchId, 'cancelled');
        await stream.next(4);
        assert.deepEqual(stream.ids, [1, 2, 3, 4]);
      });
    }
  });
}
