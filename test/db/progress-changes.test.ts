import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAccount, insertBatch, markBatchStarted, newBatchId } from '../../src/db/index.js';
import { advanceGraphRun, finishBatch, insertTriggeredRuns } from '../../src/db/graph-runs.js';
import {
  batchCountsAt,
  batchProgressHead,
  progressChangesAfter,
  triggeredRunProgressHead,
  subjectKey,
} from '../../src/db/progress-changes.js';
import type { TransformGraph } from '../../src/core/graph/graph.js';
import { graphWorkflowId } from '../../src/core/jobs/workflow-ids.js';
import { databaseTargets, openMigrated, type TestDatabase } from '../support/test-databases.js';

const graph = (key: string): TransformGraph => ({
  transformUnits: [
    { type: 'StorageSource', bucket: 'in', key },
    { type: 'ImageFormat', format: 'webp' },
    { type: 'StorageSink', bucket: 'out', key: `${key}.webp` },
  ],
});

for (const target of databaseTargets()) {
  describe(`progress change log on ${target.name}`, () => {
    let database: TestDatabase;
    let accountCount = 0;
    const newAccount = async () => {
      const id = `pc-${target.name}-${(accountCount += 1)}`;
      await createAccount(database.db, { id, name: id });
      return id;
    };
    const newBatch = async (accountId: string, graphCount: number) => {
      const batchId = newBatchId();
      const graphs = Array.from({ length: graphCount }, (_, i) => graph(`${i}.jpg`));
      await insertBatch(database.db, { batchId, accountId, graphs });
      await markBatchStarted(database.db, batchId);
      return { batchId, graph: (index: number) => graphWorkflowId(accountId, batchId, index) };
    };
    const changesOf = async (subject: { kind: 'batch' | 'run'; id: string }, after: number, limit = 100) =>
      (await progressChangesAfter(database.db, [{ subject, after }], limit)).get(subjectKey(subject)) ?? [];

    before(async () => {
      database = await openMigrated(target);
    });
    after(() => database.close());

    test('when graphs of a batch move, then each change that moved a row is numbered 1, 2, … in the batch and in its run, and a repeated write logs nothing', async () => {
      const accountId = await newAccount();
      const { batchId, graph: g } = await newBatch(accountId, 2);
      await advanceGraphRun(database.db, g(0), { state: 'running' });
      await advanceGraphRun(database.db, g(1), {
        state: 'throttled',
        throttledUntil: new Date('2030-01-01T00:00:00Z'),
      });
      await advanceGraphRun(database.db, g(0), { state: 'running' });
      await advanceGraphRun(database.db, g(0), {
        state: 'failed',
        error: { code: 'corrupt_input', message: 'bad' },
      });

      const batch = await changesOf({ kind: 'batch', id: batchId }, 0);
      assert.deepEqual(
        batch.map((c) => [c.position, c.graphIndex, c.fromState, c.state]),
        [
          [1, 0, 'queued', 'running'],
          [2, 1, 'queued', 'throttled'],
          [3, 0, 'running', 'failed'],
        ],
      );
      assert.equal(batch[1]?.throttledUntil?.toISOString(), '2030-01-01T00:00:00.000Z');
      assert.deepEqual(batch[2]?.error, { code: 'corrupt_input', message: 'bad' });
      assert.equal(batch[0]?.error, undefined, 'a change before the end carries no error');

      const run = await changesOf({ kind: 'run', id: g(0) }, 0);
      assert.deepEqual(
        run.map((c) => [c.position, c.state]),
        [
          [1, 'running'],
          [2, 'failed'],
        ],
      );
      assert.equal(
        await triggeredRunProgressHead(database.db, accountId, g(0)),
        undefined,
        'a batch graph is followed through its batch',
      );
      assert.deepEqual(await batchProgressHead(database.db, accountId, batchId), {
        position: 3,
        final: false,
      });
    });

    test('when batches and runs are read together, then each subject gets its own changes after its own position, and a read of nothing is empty', async () => {
      const accountId = await newAccount();
      const first = await newBatch(accountId, 2);
      const second = await newBatch(accountId, 1);
      await advanceGraphRun(database.db, first.graph(0), { state: 'running' });
      await advanceGraphRun(database.db, second.graph(0), { state: 'running' });
      await advanceGraphRun(database.db, first.graph(1), { state: 'running' });
      await advanceGraphRun(database.db, first.graph(0), { state: 'succeeded', sinks: [], failures: [] });
      const subjects = {
        firstBatch: { kind: 'batch', id: first.batchId },
        secondBatch: { kind: 'batch', id: second.batchId },
        firstRun: { kind: 'run', id: first.graph(0) },
      } as const;

      const read = await progressChangesAfter(
        database.db,
        [
          { subject: subjects.firstBatch, after: 1 },
          { subject: subjects.secondBatch, after: 0 },
          { subject: subjects.firstRun, after: 1 },
        ],
        100,
      );
      const positions = (subject: (typeof subjects)[keyof typeof subjects]) =>
        (read.get(subjectKey(subject)) ?? []).map((c) => [c.position, c.graphIndex, c.state]);
      assert.deepEqual(positions(subjects.firstBatch), [
        [2, 1, 'running'],
        [3, 0, 'succeeded'],
      ]);
      assert.deepEqual(positions(subjects.secondBatch), [[1, 0, 'running']]);
      assert.deepEqual(positions(subjects.firstRun), [[2, 0, 'succeeded']]);
      assert.equal(read.size, 3);
      assert.equal((await progressChangesAfter(database.db, [], 100)).size, 0);
    });

    test('when a batch is cancelled, then its never-started graphs are cancelled first and its end is the last change of its stream', async () => {
      const accountId = await newAccount();
      const { batchId, graph: g } = await newBatch(accountId, 3);
      await advanceGraphRun(database.db, g(1), { state: 'succeeded', sinks: [], failures: [] });
      await finishBatch(database.db, batchId, 'cancelled');
      await finishBatch(database.db, batchId, 'cancelled');

      const changes = await changesOf({ kind: 'batch', id: batchId }, 0);
      assert.deepEqual(
        changes.map((c) => [c.position, c.graphIndex ?? null, c.state]),
        [
          [1, 1, 'succeeded'],
          [2, 0, 'cancelled'],
          [3, 2, 'cancelled'],
          [4, null, 'cancelled'],
        ],
      );
      assert.equal(changes[3]?.workflowId, undefined, 'the end is the batch’s own change');
      assert.deepEqual(await batchProgressHead(database.db, accountId, batchId), {
        position: 4,
        final: true,
      });
    });

    test('when a stream resumes after a change, then it reads exactly the later ones, a page at a time, and the counts as they were just after it', async () => {
      const accountId = await newAccount();
      const { batchId, graph: g } = await newBatch(accountId, 3);
      for (const index of [0, 1, 2]) await advanceGraphRun(database.db, g(index), { state: 'running' });
      for (const index of [0, 1])
        await advanceGraphRun(database.db, g(index), { state: 'succeeded', sinks: [], failures: [] });

      const subject = { kind: 'batch' as const, id: batchId };
      assert.deepEqual(
        (await changesOf(subject, 2, 2)).map((c) => c.position),
        [3, 4],
      );
      assert.deepEqual(
        (await changesOf(subject, 4, 2)).map((c) => c.position),
        [5],
      );
      assert.deepEqual(await changesOf(subject, 5), []);
      assert.deepEqual(await batchCountsAt(database.db, batchId, 4), { running: 2, succeeded: 1 });
      assert.deepEqual(await batchCountsAt(database.db, batchId, 0), { queued: 3 });
    });

    test('when the head of another account’s batch or run is asked for, then there is none', async () => {
      const owner = await newAccount();
      const other = await newAccount();
      const { batchId } = await newBatch(owner, 1);
      await insertTriggeredRuns(database.db, [
        {
          accountId: owner,
          workflowId: `${owner}/run`,
          trigger: 's3',
          triggerId: 'rule',
          graph: graph('r.jpg'),
        },
      ]);
      assert.equal(await batchProgressHead(database.db, other, batchId), undefined);
      assert.equal(await triggeredRunProgressHead(database.db, other, `${owner}/run`), undefined);
      assert.deepEqual(await triggeredRunProgressHead(database.db, owner, `${owner}/run`), {
        position: 0,
        final: false,
      });
    });
  });
}
