import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { emptyCounts } from '../../../src/core/jobs/job-status.js';
import { advanceGraphRun, finishBatch } from '../../../src/db/graph-runs.js';
import { insertBatch, markBatchStarted, newBatchId } from '../../../src/db/index.js';
import {
  createTestAccount,
  createTestApi,
  validGraph,
  type TestAccount,
  type TestApi,
} from '../../support/api-harness.js';

let api: TestApi;
before(async () => {
  api = await createTestApi();
});
after(() => api.close());

async function submit(account: TestAccount, graphCount = 1): Promise<string> {
  const graphs = Array.from({ length: graphCount }, (_, i) => validGraph(`in/${i}.jpg`, `out/${i}.webp`));
  const res = await request(api.app).post('/v1/batches').set(account.auth).send({ graphs }).expect(201);
  return res.body.batchId as string;
}

interface Summary {
  batchId: string;
  state: string;
  graphCount: number;
  counts: Record<string, number>;
  createdAt: string;
  finishedAt?: string;
  retryOf?: string;
}

async function list(account: TestAccount, query: Record<string, string | number> = {}) {
  const res = await request(api.app).get('/v1/batches').query(query).set(account.auth).expect(200);
  return res.body as { batches: Summary[]; nextPageToken?: string };
}

describe('GET /v1/batches', () => {
  test('when an account has batches, then they are listed newest first with counts per state, and only its own', async () => {
    const account = await createTestAccount(api);
    const other = await createTestAccount(api);
    const first = await submit(account, 2);
    const second = await submit(account, 1);
    await submit(other);
    await advanceGraphRun(api.db, `graph/${account.accountId}/${first}/0`, {
      state: 'succeeded',
      sinks: [],
      failures: [],
    });
    await advanceGraphRun(api.db, `graph/${account.accountId}/${first}/1`, {
      state: 'failed',
      error: { code: 'corrupt_input', message: 'truncated' },
    });
    await finishBatch(api.db, first, 'partial');

    const page = await list(account);
    assert.deepEqual(
      page.batches.map((batch) => batch.batchId),
      [second, first],
    );
    assert.equal(page.nextPageToken, undefined);
    const [newest, oldest] = page.batches;
    assert.deepEqual(
      { state: newest!.state, graphCount: newest!.graphCount, counts: newest!.counts },
      { state: 'running', graphCount: 1, counts: { ...emptyCounts(), queued: 1 } },
    );
    assert.equal(newest!.finishedAt, undefined);
    assert.deepEqual(
      { state: oldest!.state, counts: oldest!.counts },
      { state: 'partial', counts: { ...emptyCounts(), succeeded: 1, failed: 1 } },
    );
    assert.ok(oldest!.finishedAt);
    assert.equal(oldest!.retryOf, undefined);
  });

  test('when a state is given, then only batches in that state are listed', async () => {
    const account = await createTestAccount(api);
    const done = await submit(account);
    const running = await submit(account);
    await finishBatch(api.db, done, 'succeeded');
    assert.deepEqual(
      (await list(account, { state: 'succeeded' })).batches.map((b) => b.batchId),
      [done],
    );
    assert.deepEqual(
      (await list(account, { state: 'running' })).batches.map((b) => b.batchId),
      [running],
    );
    assert.deepEqual((await list(account, { state: 'cancelled' })).batches, []);
  });

  test('when q is a whole id or its beginning (with or without b_), then only matching batches of the account are listed', async () => {
    const account = await createTestAccount(api);
    const other = await createTestAccount(api);
    // Ids begin with their creation time: two of the same moment share a prefix, a later one does not.
    const moment = Date.UTC(2026, 0, 1);
    const stored = async (accountId: string, at: number) => {
      const batchId = newBatchId(at);
      await insertBatch(api.db, { batchId, accountId, graphs: [validGraph() as never] });
      await markBatchStarted(api.db, batchId);
      return batchId;
    };
    const ids = [await stored(account.accountId, moment), await stored(account.accountId, moment + 1)];
    const later = await stored(account.accountId, moment + 400 * 86_400_000);
    const foreign = await stored(other.accountId, moment);
    assert.deepEqual(
      (await list(account, { q: ids[0]! })).batches.map((b) => b.batchId),
      [ids[0]],
    );
    assert.deepEqual(
      (await list(account, { q: ids[1]!.slice(2) })).batches.map((b) => b.batchId),
      [ids[1]],
    );
    const common = ids[0]!.slice(0, 9);
    assert.ok(ids[1]!.startsWith(common) && !later.startsWith(common));
    assert.deepEqual(
      (await list(account, { q: common })).batches.map((b) => b.batchId),
      [ids[1], ids[0]],
    );
    assert.deepEqual((await list(account, { q: foreign })).batches, [], 'another account’s id finds nothing');
  });

  test('when many batches are paged while they change state, then each comes exactly once, newest first', async () => {
    const account = await createTestAccount(api);
    const submitted: string[] = [];
    for (let i = 0; i < 7; i++) submitted.push(await submit(account));
    const seen: string[] = [];
    let token: string | undefined;
    let step = 0;
    do {
      const page = await list(account, { pageSize: 3, ...(token ? { pageToken: token } : {}) });
      seen.push(...page.batches.map((b) => b.batchId));
      token = page.nextPageToken;
      // Batches on both sides of the cursor finish between pages.
      await finishBatch(api.db, submitted[step]!, 'succeeded');
      await finishBatch(api.db, submitted[6 - step]!, 'failed');
      step++;
    } while (token);
    assert.deepEqual(seen, [...submitted].reverse());
  });

  test('when a batch was stored but never started, then it is not listed (it does not exist for the engine yet)', async () => {
    const account = await createTestAccount(api);
    const batchId = newBatchId();
    await insertBatch(api.db, { batchId, accountId: account.accountId, graphs: [validGraph() as never] });
    assert.deepEqual((await list(account)).batches, []);
  });

  test('when a query value is malformed, hostile, oversized, repeated or unknown, then 400 invalid_request naming it', async () => {
    const account = await createTestAccount(api);
    await submit(account);
    const cases: [Record<string, string | string[]>, string][] = [
      [{ state: 'done' }, '/state'],
      [{ state: 'partially_failed' }, '/state'],
      [{ state: ['running', 'failed'] }, '/state'],
      [{ q: '' }, '/q'],
      [{ q: "b_' or 1=1 --" }, '/q'],
      [{ q: 'b_%' }, '/q'],
      [{ q: 'b__' }, '/q'],
      [{ q: 'b_' + 'a'.repeat(27) }, '/q'],
      [{ q: 'x'.repeat(4000) }, '/q'],
      [{ q: 'b_' }, '/q'],
      [{ q: 'B_ABC' }, '/q'],
      [{ pageSize: '0' }, '/pageSize'],
      [{ pageSize: '101' }, '/pageSize'],
      [{ pageSize: 'ten' }, '/pageSize'],
      [{ pageSize: '1e1' }, '/pageSize'],
      [{ pageToken: 'abc' }, '/pageToken'],
      [{ pageToken: 'A'.repeat(30) }, '/pageToken'],
      [{ page: '2' }, ''],
    ];
    for (const [query, path] of cases) {
      const res = await request(api.app).get('/v1/batches').query(query).set(account.auth);
      assert.equal(res.status, 400, JSON.stringify(query).slice(0, 60));
      assert.equal(res.body.error.code, 'invalid_request');
      const paths = (res.body.error.issues as { path: string }[]).map((issue) => issue.path);
      // An unknown parameter is named in its issue's message; the others by their pointer.
      assert.ok(
        path === '' ? paths.length > 0 : paths.includes(path),
        `${JSON.stringify(query).slice(0, 60)}: ${paths.join(', ')}`,
      );
    }
    assert.equal((await list(account)).batches.length, 1, 'nothing was lost');
  });

  test('when no token is sent, then 401 unauthorized', async () => {
    const res = await request(api.app).get('/v1/batches').expect(401);
    assert.equal(res.body.error.code, 'unauthorized');
  });
});
