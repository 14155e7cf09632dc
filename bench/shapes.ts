/**
 * What one child workflow per graph costs (docs/performance.md, "Execution shapes"): the same 1×1 graphs
 * run in alternating rounds, on one dev server and one worker process, as
 * - `child per graph`: a real batch through the API, each graph a child workflow running the imaging
 *   activity (the shape DESIGN §7 prescribes);
 * - `activity per graph`: an experiment workflow (bench/experiments) that runs the same imaging
 *   activity for each graph by reference, with the same window, and no child workflow.
 * Both read the graphs from the same stored batch and write the read model the same way, and both are
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
import type { Config } from '../src/core/config.js';
import { batchWorkflowId } from '../src/core/jobs/workflow-ids.js';
import { insertBatch } from '../src/db/batches.js';
import { installTemporalRuntime } from '../src/temporal/worker/runtime.js';
import { quietBundlerLogger } from '../src/temporal/worker/workflow-bundle.js';
import { startTemporalDevServer } from '../src/tools/temporal-cli.js';
import { fixturePath } from '../test/support/fixtures.js';
import { threeOutputGraph } from '../test/support/graphs.js';
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
const experimentWorkflows = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'experiments/graphs-as-activities-workflow.ts',
);

type Shape = 'child per graph' | 'activity per graph';

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
    const stack = await startBenchStack(root, temporal.address, async (nativeConnection, config) => [
      await Worker.create({
        connection: nativeConnection,
        namespace: config.temporal.namespace,
        taskQueue: experimentQueue(config),
        workflowBundle: await bundleWorkflowCode({
          workflowsPath: experimentWorkflows,
          logger: quietBundlerLogger,
        }),
      }),
    ]);
    const { config, database, client, served } = stack;

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
      await insertBatch(database.db, { batchId, accountId: 'bench', graphs: graphs(round) });
      const succeeded = await client.workflow.execute<typeof graphsAsActivitiesExperiment>(
        'graphsAsActivitiesExperiment',
        {
          taskQueue: experimentQueue(config),
          workflowId: `experiment/${batchId}`,
          args: [
            {
              accountId: 'bench',
              batchId,
              graphCount: graphsPerRound,
              imagingTaskQueue: config.temporal.taskQueues.imaging,
            },
          ],
        },
      );
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

    // Warm-up of both shapes, then alternating measured rounds.
    await runShape('child per graph', 'warm-child');
    await runShape('activity per graph', 'warm-activity');
    const figures: RoundFigures[] = [];
    for (let round = 0; round < rounds; round++) {
      const order: Shape[] =
        round % 2 === 0
          ? ['child per graph', 'activity per graph']
          : ['activity per graph', 'child per graph'];
      for (const shape of order) figures.push(await measure(shape, `r${round}-${shape.split(' ')[0]}`));
    }

    const mean = (shape: Shape, pick: (f: RoundFigures) => number) => {
      const of = figures.filter((f) => f.shape === shape).map(pick);
      return round1(of.reduce((a, b) => a + b, 0) / of.length);
    };
    const summary = Object.fromEntries(
      (['child per graph', 'activity per graph'] as const).map((shape) => [
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
