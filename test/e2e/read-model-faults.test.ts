/**
 * The read model converges (docs/architecture.md §7.2): a worker process killed with SIGKILL right around
 * the write that records an imaged graph's outcome. The crash points are real ones, armed in the worker
 * by `PIXELSHIFT_TEST_FAULT` (src/app/test-faults.ts): after the imaging activity wrote its outputs but
 * before the row is recorded, and after the row is recorded but before the activity reports back. Either
 * way, once another worker starts, the graph's row ends final with its sinks, and the account's usage
 * counts the graph once.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { getBatchGraphRun, usageOf } from '../../src/db/graph-runs.js';
import type { TestFault } from '../../src/app/test-faults.js';
import type { GraphOutcome } from '../../src/core/jobs/job-status.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import { startWorkerProcess } from '../support/worker-process.js';
import { startStack, type Stack } from '../support/stack.js';

const fixture = 'png-palette-8bit.png';

describe('read model under a worker killed around the outcome record', () => {
  let stack: Stack;
  let database: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  let sourceKey: string;
  const workers: ChildProcess[] = [];

  before(async () => {
    database = await freshPostgresDatabase();
    stack = await startStack({ databaseUrl: database.url, inProcessWorkers: false });
    sourceKey = await stack.uploadFixture(fixture, 'in/faults.png');
  });
  after(async () => {
    for (const worker of workers) worker.kill('SIGKILL');
    await stack?.close();
    await database?.drop();
  });

  async function startWorker(fault?: TestFault): Promise<ChildProcess> {
    const worker = await startWorkerProcess({
      ...stack.workerEnv,
      ...(fault ? { PIXELSHIFT_TEST_FAULT: fault } : {}),
    });
    workers.push(worker);
    return worker;
  }

  function exited(worker: ChildProcess): Promise<NodeJS.Signals | null> {
    if (worker.exitCode !== null || worker.signalCode !== null) return Promise.resolve(worker.signalCode);
    return new Promise((resolve) => worker.once('exit', (_code, signal) => resolve(signal)));
  }

  async function outputExists(key: string): Promise<boolean> {
    return stack.s3
      .send(new HeadObjectCommand({ Bucket: stack.buckets.output, Key: key }))
      .then(() => true)
      .catch(() => false);
  }

  /**
   * One graph of a fresh account, through a worker armed with `fault` that dies at it, then a clean
   * worker; answers what the row said at the crash and the settled batch and usage.
   */
  async function runThroughCrash(fault: TestFault) {
    const account = await stack.addAccount(fault);
    const outKey = `${fault}/out.webp`;
    const graph = {
      transformUnits: [
        { type: 'StorageSource', bucket: stack.buckets.input, key: sourceKey },
        { type: 'Resize', width: 24 },
        { type: 'ImageFormat', format: 'webp' },
        { type: 'StorageSink', bucket: stack.buckets.output, key: outKey },
      ],
    };
    const armed = await startWorker(fault);
    const submitted = await account.api('/v1/batches', {
      method: 'POST',
      body: JSON.stringify({ graphs: [graph] }),
    });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    const { batchId } = submitted.body as { batchId: string };

    assert.equal(await exited(armed), 'SIGKILL', 'the armed worker killed itself at the fault');
    const atCrash = await getBatchGraphRun(stack.database.db, batchId, 0);
    const writtenAtCrash = await outputExists(outKey);

    const clean = await startWorker();
    const token = await account.token();
    const deadline = Date.now() + 120_000;
    let state = 'running';
    while (state === 'running') {
      if (Date.now() > deadline) throw new Error(`batch ${batchId} still running`);
      await new Promise((resolve) => setTimeout(resolve, 250));
      const status = await account.api(`/v1/batches/${batchId}`, { token });
      assert.equal(status.status, 200, JSON.stringify(status.body));
      state = (status.body as { state: string }).state;
    }
    clean.kill('SIGKILL');
    await exited(clean);

    const graphs = await account.api(`/v1/batches/${batchId}/graphs`, { token });
    assert.equal(graphs.status, 200, JSON.stringify(graphs.body));
    const [outcome] = (graphs.body as { graphs: GraphOutcome[] }).graphs;
    const usage = await usageOf(stack.database.db, account.accountId, {
      from: new Date(Date.now() - 2 * 3600_000),
      to: new Date(Date.now() + 3600_000),
      granularity: 'day',
    });
    const history = await stack.temporal.client.workflow.getHandle(outcome!.workflowId).fetchHistory();
    const imagingAttempts = Math.max(
      ...(history.events ?? []).map((event) => event.activityTaskStartedEventAttributes?.attempt ?? 0),
    );
    return { state, atCrash, writtenAtCrash, outcome: outcome!, usage, imagingAttempts, outKey };
  }

  function assertCountedOnce(
    usage: Awaited<ReturnType<typeof usageOf>>,
    sinks: readonly { bytes: number }[],
  ): void {
    const totals = usage.reduce(
      (sum, row) => ({
        succeeded: sum.succeeded + row.graphs.succeeded,
        transforms: sum.transforms + row.transforms,
        bytesWritten: sum.bytesWritten + row.bytesWritten,
      }),
      { succeeded: 0, transforms: 0, bytesWritten: 0 },
    );
    assert.deepEqual(totals, {
      succeeded: 1,
      transforms: 1,
      bytesWritten: sinks.reduce((sum, sink) => sum + sink.bytes, 0),
    });
  }

  test('when the worker dies after writing the outputs but before recording the outcome, then another worker redoes the graph and its row ends succeeded with its sinks, counted once', async () => {
    const run = await runThroughCrash('exit-before-recording');
    // The crash landed where it should: the output was written, the row had not heard of it.
    assert.equal(run.writtenAtCrash, true, 'the outputs were written before the crash');
    assert.equal(run.atCrash?.state, 'running');
    assert.deepEqual(run.atCrash?.sinks, []);

    assert.equal(run.state, 'succeeded');
    assert.equal(run.outcome.state, 'succeeded');
    assert.deepEqual(
      run.outcome.sinks.map((sink) => sink.key),
      [run.outKey],
    );
    assert.ok(run.imagingAttempts >= 2, 'the imaging activity ran again on the new worker');
    assertCountedOnce(run.usage, run.outcome.sinks);
  });

  test('when the worker dies after recording the outcome but before the imaging activity reports it, then the retry leaves the row as recorded and usage counts the graph once', async () => {
    const run = await runThroughCrash('exit-after-recording');
    assert.equal(run.atCrash?.state, 'succeeded', 'the row was final before the crash');
    const recordedSinks = run.atCrash?.sinks ?? [];
    assert.equal(recordedSinks.length, 1);

    assert.equal(run.state, 'succeeded');
    assert.deepEqual(run.outcome.sinks, recordedSinks, 'the retried record changed nothing');
    assert.ok(run.imagingAttempts >= 2, 'the imaging activity ran again on the new worker');
    assertCountedOnce(run.usage, recordedSinks);
  });
});
