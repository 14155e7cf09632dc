/**
 * Streams are woken by the change log's signals, not only by the hub's poll: every test here runs an API
 * whose poll is ten minutes apart, so a change that arrives at all arrived by its signal.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import request from 'supertest';
import { sql } from 'drizzle-orm';
import { startHttpServer, type HttpServer } from '../../../src/api/http-server.js';
import { advanceGraphRun, finishBatch } from '../../../src/db/graph-runs.js';
import { queryRows, type Database } from '../../../src/db/database.js';
import { graphWorkflowId } from '../../../src/core/jobs/workflow-ids.js';
import {
  createTestAccount,
  createTestApi,
  validGraph,
  type TestAccount,
  type TestApi,
} from '../../support/api-harness.js';
import { databaseTargets } from '../../support/test-databases.js';

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

for (const target of databaseTargets()) {
  // Without its signal a change would wait the ten minutes: each test fails well before.
  describe(`live progress signals on ${target.name}`, { timeout: 30_000 }, () => {
    let api: TestApi;
    let server: HttpServer;
    // The second process's pool, opened by its first write.
    let elsewhere: Promise<Database> | undefined;
    after(async () => {
      await server?.close();
      await (await elsewhere)?.close();
      await api?.close();
    });

    const start = async () => {
      api ??= await createTestApi({ target, streams: { pollMs: tenMinutes, heartbeatMs: tenMinutes } });
      server ??= await startHttpServer(api.app, { host: '127.0.0.1', port: 0 });
      const account = await createTestAccount(api);
      return { account, ...(await submit(account)) };
    };
    const submit = async (account: TestAccount) => {
      const graphs = [validGraph('in/0.jpg', 'out/0.webp'), validGraph('in/1.jpg', 'out/1.webp')];
      const res = await request(api.app).post('/v1/batches').set(account.auth).send({ graphs }).expect(201);
      const batchId = res.body.batchId as string;
      return { batchId, graph: (index: number) => graphWorkflowId(account.accountId, batchId, index) };
    };

    test('when this process writes a change, then an open stream gets it without waiting for the poll', async () => {
      const { account, batchId, graph } = await start();
      const stream = await followIds(`${server.url}/v1/batches/${batchId}/events`, account.auth);
      await advanceGraphRun(api.db, graph(0), { state: 'running' });
      await stream.next(1);
      await advanceGraphRun(api.db, graph(1), { state: 'running' });
      await advanceGraphRun(api.db, graph(0), { state: 'succeeded', sinks: [], failures: [] });
      await stream.next(3);
      await finishBatch(api.db, batchId, 'partial');
      await stream.next(4);
      assert.deepEqual(stream.ids, [1, 2, 3, 4]);
    });

    if (target.name === 'postgres') {
      /** A write as another process makes it: its own pool, and the database function called directly. */
      const advanceElsewhere = async (workflowId: string, state: string) => {
        elsewhere ??= api.database.openAnotherClient();
        await queryRows(
          (await elsewhere).db,
          sql`select graph_run_advance(${workflowId}, ${state}, null, null, null, null, null, null, null)`,
        );
      };

      test('when another process writes a change, then its NOTIFY wakes the stream', async () => {
        const { account, batchId, graph } = await start();
        const stream = await followIds(`${server.url}/v1/batches/${batchId}/events`, account.auth);
        await advanceElsewhere(graph(0), 'running');
        await stream.next(1);
        assert.deepEqual(stream.ids, [1]);
      });

      test('when the listening connection is cut, then it reconnects and the next change still wakes the stream', async () => {
        const { account, batchId, graph } = await start();
        const stream = await followIds(`${server.url}/v1/batches/${batchId}/events`, account.auth);
        await advanceElsewhere(graph(0), 'running');
        await stream.next(1);
        const cut = await queryRows<{ cut: boolean }>(
          api.db,
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
