/**
 * What one child workflow per graph costs (docs/performance-log.md, "Execution shapes"): the same 1×1 graphs
 * run in alternating rounds, on one dev server and one worker process, as
 * - `child per graph`: a real batch through the API, each graph a child workflow running the imaging
 *   activity (the shape DESIGN §7 prescribes);
 * - `batch of activities`: a real batch with PIXELSHIFT_BATCH_GRAPHS=activities (stored and started as the
 *   API does, without the HTTP request: under 0.3 ms per graph), each graph the imaging activity of the
 *   batch with its throttle, events and read-model steps;
 * - `activity per graph`: an experiment workflow (bench/experiments) that runs the same imaging
 *   activity for each graph by reference, with the same window, and no child workflow;
 * - `child, imaging activity` and `child, local imaging`: experiment children with the same search
 *   attributes and a final state upsert, running the imaging as an activity on the imaging queue or as a
 *   local activity inside the child's workflow task, so the two differ only in how imaging is dispatched.
 * All read the graphs from the same stored batch and write the read model the same way, and all are
 * awaited through their workflow's result. Reported per graph: the CPU of the Temporal server and of this
 * process, the server's persistence and visibility requests, and the wall time of the round.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { createActivities } from '../src/temporal/activities/index.js';
import type { Config } from '../src/core/config.js';
import { batchWorkflowId } from '../src/core/jobs/workflow-ids.js';
import { insertBatch } from '../src/db/batches.js';
import { TemporalJobEngine } from '../src/temporal/client/temporal-orchestrator.js';
import type { batchWorkflow } from '../src/temporal/workflows/batch.js';
import { installTemporalRuntime } from '../src/temporal/worker/runtime.js';
import { quietBundlerLogger } from '../src/temporal/worker/workflow-bundle.js';
import { startTemporalDevServer } from '../src/tools/temporal-cli.js';
import { fixturePath } from '../test/support/fixtures.js';
import { threeOutputGraph } from '../test/support/graphs.js';
import type { childPerGraphExperiment } from './experiments/child-per-graph-workflows.js';
import type { graphsAsActivitiesExperiment } from './experiments/graphs-as-activities-workflow.js';
import {
  countsPerBetween,
  describeMachine,
  printTable,
  processCpuSeconds,
  round1,
  temporalRequestCounts,
  writeResult,
} from './lib.js';
import { startBenchStack } from './stack.js';

const graphsPerRound = Number(process.env.BENCH_BATCH ?? 500);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const experimentWorkflows = path.join(path.dirname(fileURLToPath(import.meta.url)), 'experiments/index.ts');

const shapes = [
  'child per graph',
  'batch of activities',
  'activity per graph',
  'child, imaging activity',
  'child, local imaging',
] as const;
type Shape = (typeof shapes)[number];

interface RoundFigures {
  shape: Shape;
  seconds: number;
  serverCpuMsPerGraph: number;
  processCpuMsPerGraph: number;
  requestsPerGraph: Record<string, number>;
}

export async function run(): Promise<void> {
  installTemporalRuntime({ level: 'ERROR' });
  const base = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const root = await mkdtemp(path.join(base, 'pixelshift-shapes-'));
  const temporal = await startTemporalDevServer({ headless: true });
  try {
    await mkdir(path.join(root, 'storage', 'photos'), { recursive: true });
    await mkdir(path.join(root, 'storage', 'out'), { recursive: true });
    await copyFile(fixturePath('png-1x1-palette.png'), path.join(root, 'storage', 'photos', 'tiny.png'));
    const experimentQueue = (config: Config) => `${config.temporal.taskQueues.orchestration}-experiment`;
    const stack = await startBenchStack(root, temporal.address, async (nativeConnection, config, deps) => [
      await Worker.create({
        connection: nativeConnection,
        namespace: config.temporal.namespace,
        taskQueue: experimentQueue(config),
        workflowBundle: await bundleWorkflowCode({
          workflowsPath: experimentWorkflows,
          logger: quietBundlerLogger,
        }),
        // The local imaging runs here, with as many slots as the imaging worker has.
        activities: { runGraph: createActivities(deps).runGraph },
        maxConcurrentLocalActivityExecutions: config.imaging.slots,
      }),
    ]);
    const { config, database, client, served } = stack;
    const engine = new TemporalJobEngine(client, config);

    const graphs = (round: string) =>
      Array.from({ length: graphsPerRound }, (_, i) =>
        threeOutputGraph('photos', 'tiny.png', 'out', `${round}/${i}`),
      );
    const runShape = async (shape: Shape, round: string): Promise<void> => {
      if (shape === 'child per graph') {
        const submitted = await served.call('/v1/batches', { graphs: graphs(round) });
        if (submitted.status !== 201) throw new Error(`submit failed: ${JSON.stringify(submitted.body)}`);
        const { batchId } = submitted.body as { batchId: string };
        await client.workflow.getHandle(batchWorkflowId('bench', batchId)).result();
        const status = await served.call(`/v1/batches/${batchId}`);
        const { state } = status.body as { state: string };
        if (state !== 'succeeded') throw new Error(`batch ended ${state}`);
        return;
      }
      const batchId = `shape-${randomUUID()}`;
      if (shape === 'batch of activities') {
        await insertBatch(database.db, {
          batchId,
          accountId: 'bench',
          graphs: graphs(round),
          graphsAs: 'activities',
        });
        await engine.startBatch({
          accountId: 'bench',
          batchId,
          graphCount: graphsPerRound,
          graphsAs: 'activities',
        });
        const status = await client.workflow
          .getHandle<typeof batchWorkflow>(batchWorkflowId('bench', batchId))
          .result();
        if (status.state !== 'succeeded') throw new Error(`batch ended ${status.state}`);
        return;
      }
      await insertBatch(database.db, { batchId, accountId: 'bench', graphs: graphs(round) });
      const input = {
        accountId: 'bench',
        batchId,
        graphCount: graphsPerRound,
        imagingTaskQueue: config.temporal.taskQueues.imaging,
      };
      const options = { taskQueue: experimentQueue(config), workflowId: `experiment/${batchId}` };
      const succeeded =
        shape === 'activity per graph'
          ? await client.workflow.execute<typeof graphsAsActivitiesExperiment>(
              'graphsAsActivitiesExperiment',
              {
                ...options,
                args: [input],
              },
            )
          : await client.workflow.execute<typeof childPerGraphExperiment>('childPerGraphExperiment', {
              ...options,
              args: [{ ...input, localImaging: shape === 'child, local imaging' }],
            });
      if (succeeded !== graphsPerRound) throw new Error(`${succeeded} of ${graphsPerRound} graphs succeeded`);
    };

    const measure = async (shape: Shape, round: string): Promise<RoundFigures> => {
      const requestsBefore = await temporalRequestCounts(temporal.metricsUrl);
      const serverBefore = processCpuSeconds(temporal.process.pid);
      const ownBefore = process.cpuUsage();
      const started = performance.now();
      await runShape(shape, round);
      const seconds = (performance.now() - started) / 1000;
      const own = process.cpuUsage(ownBefore);
      const serverSeconds = processCpuSeconds(temporal.process.pid) - serverBefore;
      const requests = countsPerBetween(
        requestsBefore,
        await temporalRequestCounts(temporal.metricsUrl),
        graphsPerRound,
      );
      return {
        shape,
        seconds: round1(seconds),
        serverCpuMsPerGraph: round1((serverSeconds * 1000) / graphsPerRound),
        processCpuMsPerGraph: round1((own.user + own.system) / 1000 / graphsPerRound),
        requestsPerGraph: Object.fromEntries(
          Object.entries(requests).filter(
            ([name]) => name.startsWith('(') || name.startsWith('persistence:U'),
          ),
        ),
      };
    };

    // Warm-up of every shape, then measured rounds, the order reversed every other round.
    for (const [i, shape] of shapes.entries()) await runShape(shape, `warm-${i}`);
    const figures: RoundFigures[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? [...shapes] : [...shapes].reverse();
      for (const shape of order) figures.push(await measure(shape, `r${round}-${shapes.indexOf(shape)}`));
    }

    const mean = (shape: Shape, pick: (f: RoundFigures) => number) => {
      const of = figures.filter((f) => f.shape === shape).map(pick);
      return round1(of.reduce((a, b) => a + b, 0) / of.length);
    };
    const summary = Object.fromEntries(
      shapes.map((shape) => [
        shape,
        {
          cpuMsPerGraph: mean(shape, (f) => f.serverCpuMsPerGraph + f.processCpuMsPerGraph),
          serverCpuMsPerGraph: mean(shape, (f) => f.serverCpuMsPerGraph),
          processCpuMsPerGraph: mean(shape, (f) => f.processCpuMsPerGraph),
          seconds: mean(shape, (f) => f.seconds),
        },
      ]),
    );
    const result = {
      graphsPerRound,
      rounds,
      summary,
      figures,
      loadAverage: os.loadavg().map(round1),
      machine: describeMachine(),
    };
    printTable([
      ['shape (mean of rounds)', 'CPU ms per graph (server + process)', `${graphsPerRound} graphs, s`],
      ...Object.entries(summary).map(([shape, s]) => [
        shape,
        `${s.cpuMsPerGraph} (${s.serverCpuMsPerGraph} + ${s.processCpuMsPerGraph})`,
        s.seconds,
      ]),
    ]);
    for (const f of figures) {
      const requests = Object.entries(f.requestsPerGraph).map(([name, count]) => `${name} ${count}`);
      console.log(
        `${f.shape}: ${f.seconds} s, ${f.serverCpuMsPerGraph} + ${f.processCpuMsPerGraph} ms, ${requests.join(', ')}`,
      );
    }
    console.log(`wrote ${await writeResult('shapes', result)}`);

    await stack.stop();
  } finally {
    await temporal.stop();
    await rm(root, { recursive: true, force: true });
  }
}
