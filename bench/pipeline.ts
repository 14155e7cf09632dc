/**
 * The full path against raw sharp on identical work (docs/architecture.md §14), measured in one run on this machine:
 * - raw sharp: the photos, three outputs each (1600 px WebP, 800 px WebP, 320×320 cover JPEG), two images
 *   in flight (as many as the worker's imaging slots);
 * - the full path: HTTP submit → Temporal → worker → local storage → status complete, with the Temporal
 *   dev server, the API and a worker on this machine (the `npm start` topology: PGlite, one process);
 * - the median time to accept a 1000-graph batch (POST /v1/batches → 201);
 * - per-graph orchestration overhead: graph workflow time minus its imaging activity's time;
 * - a 1000-graph batch run to completion on a 1×1 image (BENCH_BATCH sets another size): its end-to-end
 *   time, the CPU time (user + sys) the Temporal dev server (/proc/<pid>/stat) and this process (worker
 *   and API, process.cpuUsage()) spent on it per graph, and the history events and workflow tasks per
 *   graph (the batch's history and every graph's together), and beside them the CPU raw sharp spends on
 *   the same three outputs of the 1×1 image;
 * - an isolated ratio: the Temporal server pinned to core 0 and this process (worker and API) to core 1
 *   with taskset, raw sharp in its own round pinned to core 1 too, so the worker's own overhead is
 *   measured apart from the server's (skipped with fewer than two cores or without taskset).
 * BENCH_DATABASE=postgres runs the database on a PostgreSQL server of the bench's own (the production
 * topology) instead of the embedded PGlite: its CPU is then counted with the orchestration's, and it is
 * pinned beside the Temporal server in the isolated rounds. With it, BENCH_WORKER=process runs the workers in a
 * `pixelshift worker` process of their own (the production topology) and leaves the API in this one: the
 * isolated rounds then pin the API beside the servers and the worker alone on the other core, as issue 14
 * defines the isolated ratio, and the CPU figures add the worker process's.
 * Rounds alternate raw and pipeline so both see the same machine load. BENCH_CPU_PROFILE=<file> writes a
 * CPU profile of the main thread during the 1×1 batch alone (its figures then do not compare).
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { temporal } from '@temporalio/proto';
import { startTemporalDevServer } from '../src/tools/temporal-cli.js';
import { installTemporalRuntime } from '../src/temporal/worker/runtime.js';
import type { BatchStatus } from '../src/core/jobs/job-status.js';
import { fixturePath } from '../test/support/fixtures.js';
import { photoFixtures, threeOutputGraph } from '../test/support/graphs.js';
import { readBatch } from '../test/support/stack.js';
import { createClient } from '../packages/client/src/index.js';
import {
  describeMachine,
  percentile,
  printTable,
  processCpuSeconds,
  processTree,
  processTreeCpuSeconds,
  profiledPhase,
  round1,
  round3,
  sampleRss,
  countsPerBetween,
  temporalRequestCounts,
  threadCpuMsBetween,
  threadCpuSeconds,
  writeResult,
} from './lib.js';
import { benchDatabaseKind, benchImagingSlots, benchWorkerPlace, startBenchStack } from './stack.js';

const photos = photoFixtures;
const copiesPerRound = Number(process.env.BENCH_COPIES ?? 4);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const slots = benchImagingSlots;
/**
 * How the bench learns that a batch ended: `stream`, as a client of the SDK does (`batches.wait` follows
 * the batch's event stream), or `poll`, its status every 200 ms (how figures before 2026-12-07 were taken).
 */
const waitBy = process.env.BENCH_WAIT === 'poll' ? 'poll' : 'stream';
const batchSize = Number(process.env.BENCH_BATCH ?? 1000);
const isolatedRounds = Number(process.env.BENCH_ISOLATED_ROUNDS ?? 2);

const threeOutputs = (key: string, outPrefix: string) => threeOutputGraph('photos', key, 'out', outPrefix);

export async function run(): Promise<void> {
  installTemporalRuntime({ level: 'ERROR' });
  const base = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const root = await mkdtemp(path.join(base, 'pixelshift-pipeline-'));
  const temporal = await startTemporalDevServer({ headless: true });
  const rss = sampleRss();
  try {
    await mkdir(path.join(root, 'storage', 'photos'), { recursive: true });
    await mkdir(path.join(root, 'storage', 'out'), { recursive: true });
    await mkdir(path.join(root, 'raw'), { recursive: true });
    for (const photo of photos)
      await copyFile(fixturePath(photo), path.join(root, 'storage', 'photos', photo));
    await copyFile(fixturePath('png-1x1-palette.png'), path.join(root, 'storage', 'photos', 'tiny.png'));

    const databaseKind = benchDatabaseKind();
    const postgres = databaseKind === 'postgres';
    const workerPlace = benchWorkerPlace(databaseKind);
    const workerApart = workerPlace === 'process';
    const stack = await startBenchStack(root, temporal.address, undefined, {
      database: databaseKind,
      worker: workerPlace,
    });
    const { client, served } = stack;
    const api = (pathname: string, body?: unknown) => served.call(pathname, body);
    const sdk = createClient({
      baseUrl: served.server.url,
      clientId: served.key.keyId,
      clientSecret: served.key.secret,
    });
    // A batch's status, and when it was submitted and when the bench saw it end (epoch ms).
    type RunBatch = BatchStatus & { finishedAt?: string; submittedAt: number; seenEndedAt: number };
    const seeEnd = async (batchId: string) => {
      if (waitBy === 'stream') {
        await sdk.batches.wait(batchId);
        return;
      }
      for (;;) {
        const { body } = await api(`/v1/batches/${batchId}`);
        if ((body as BatchStatus).state !== 'running') return;
        // A patient client: frequent polling would itself take CPU from the imaging on 2 cores.
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const runBatch = async (graphs: unknown[]): Promise<RunBatch> => {
      const submittedAt = Date.now();
      const submitted = await api('/v1/batches', { graphs });
      if (submitted.status !== 201) throw new Error(`submit failed: ${JSON.stringify(submitted.body)}`);
      const { batchId } = submitted.body as { batchId: string };
      await seeEnd(batchId);
      const seenEndedAt = Date.now();
      // The status no longer lists graphs (they are paged): read them all once the batch has ended.
      return { ...(await readBatch(api, batchId)), submittedAt, seenEndedAt };
    };

    const items = Array.from(
      { length: copiesPerRound * photos.length },
      (_, i) => photos[i % photos.length]!,
    );
    // What the worker's imaging does for one graph, done directly with sharp: `images` through the same
    // three outputs, as many lanes as imaging slots.
    const rawRound = async (round: number | string, images: readonly string[] = items) => {
      let next = 0;
      const lane = async () => {
        while (next < images.length) {
          const index = next++;
          const photo = images[index]!;
          const input = await readFile(path.join(root, 'storage', 'photos', photo));
          const out = (name: string) => path.join(root, 'raw', `${round}-${index}-${name}`);
          await Promise.all([
            sharp(input)
              .autoOrient()
              .resize({ width: 1600, fit: 'inside', withoutEnlargement: true })
              .webp()
              .toBuffer()
              .then((d) => writeFile(out('1600.webp'), d)),
            sharp(input)
              .autoOrient()
              .resize({ width: 800, fit: 'inside', withoutEnlargement: true })
              .webp()
              .toBuffer()
              .then((d) => writeFile(out('800.webp'), d)),
            sharp(input)
              .autoOrient()
              .resize({ width: 320, height: 320, fit: 'cover' })
              .jpeg()
              .toBuffer()
              .then((d) => writeFile(out('thumb.jpg'), d)),
          ]);
        }
      };
      await Promise.all(Array.from({ length: slots }, lane));
    };
    const pipelineRound = async (round: number) => {
      const status = await runBatch(items.map((photo, i) => threeOutputs(photo, `r${round}/${i}`)));
      if (status.state !== 'succeeded')
        throw new Error(`pipeline round failed: ${JSON.stringify(status.counts)}`);
      return status;
    };

    // Warm-up of both, then alternating measured rounds.
    await rawRound(-1);
    await pipelineRound(-1);
    // CPU seconds used by the Temporal dev server (another process on the same 2 cores) while measuring.
    const serverCpuSeconds = () => processCpuSeconds(temporal.process.pid);
    // And by the PostgreSQL server with its backends, when the database is one (0 for the embedded PGlite,
    // whose CPU is this process's).
    const databaseCpuSeconds = () => processTreeCpuSeconds(stack.databaseServerPid);
    // And by the worker process, when the workers have one of their own (0 otherwise: they are this one).
    const workerCpuSeconds = () => processTreeCpuSeconds(stack.workerPid);
    const workerThreadCpuSeconds = () =>
      stack.workerPid === undefined ? new Map<string, number>() : threadCpuSeconds(stack.workerPid);
    let serverCpu = 0;
    let databaseCpu = 0;
    let workerCpu = 0;
    let ownCpuMs = 0;
    const rawMs: number[] = [];
    const pipelineMs: number[] = [];
    // The same rounds from submission to the batch's recorded end: without the time the bench took to see it.
    const pipelineToRecordedEndMs: number[] = [];
    const measuredStatuses: RunBatch[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? ['raw', 'pipeline'] : ['pipeline', 'raw'];
      for (const which of order) {
        const started = performance.now();
        if (which === 'raw') await rawRound(round);
        else {
          const serverBefore = serverCpuSeconds();
          const databaseBefore = databaseCpuSeconds();
          const workerBefore = workerCpuSeconds();
          const ownBefore = process.cpuUsage();
          const status = await pipelineRound(round);
          measuredStatuses.push(status);
          pipelineToRecordedEndMs.push(Date.parse(status.finishedAt ?? '') - status.submittedAt);
          serverCpu += serverCpuSeconds() - serverBefore;
          databaseCpu += databaseCpuSeconds() - databaseBefore;
          workerCpu += workerCpuSeconds() - workerBefore;
          const own = process.cpuUsage(ownBefore);
          ownCpuMs += (own.user + own.system) / 1000;
        }
        (which === 'raw' ? rawMs : pipelineMs).push(performance.now() - started);
      }
    }
    const perSec = (ms: number[]) => (items.length * ms.length * 1000) / ms.reduce((a, b) => a + b, 0);
    const rawImagesPerSec = perSec(rawMs);
    const pipelineImagesPerSec = perSec(pipelineMs);

    // Orchestration overhead per graph: workflow wall time minus imaging activity time, from histories.
    const overheads: number[] = [];
    const activityMs: number[] = [];
    // Where a round's time goes besides imaging: from submission to the first imaging activity's start,
    // from the last one's end to the batch's recorded end, and from there until the bench saw it.
    const roundPhases = { startLagMs: [] as number[], endLagMs: [] as number[], seenLagMs: [] as number[] };
    const activitiesShape = stack.config.batches.graphsAs === 'activities';
    for (const status of measuredStatuses) {
      let firstImagingStart = Infinity;
      let lastImagingEnd = -Infinity;
      // Graphs run as activities live in their batch's history: a graph's span there is its imaging
      // activity's, from scheduled to completed, so its overhead is the wait for an imaging slot alone.
      const batchEvents = activitiesShape
        ? ((await client.workflow.getHandle(status.workflowId).fetchHistory()).events ?? [])
        : [];
      for (const graph of status.graphs) {
        const events = activitiesShape
          ? eventsOfGraphActivity(batchEvents, `graph-${graph.index}`)
          : ((await client.workflow.getHandle(graph.workflowId).fetchHistory()).events ?? []);
        const ms = (event: (typeof events)[number] | undefined) =>
          event?.eventTime
            ? Number(event.eventTime.seconds) * 1000 + Math.round((event.eventTime.nanos ?? 0) / 1e6)
            : NaN;
        const first = events[0];
        const last = events[events.length - 1];
        // The imaging activity by type: graphs run other activities too (throttle, webhook events).
        const scheduled = events.find(
          (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runGraph',
        );
        const ofImaging = (id: unknown) =>
          scheduled?.eventId != null && String(id) === String(scheduled.eventId);
        const completed = events.find((e) =>
          ofImaging(e.activityTaskCompletedEventAttributes?.scheduledEventId),
        );
        const activityStarted = events
          .filter((e) => ofImaging(e.activityTaskStartedEventAttributes?.scheduledEventId))
          .pop();
        // Time the activity waited for a free imaging slot counts as overhead here: it is what a user waits.
        overheads.push(ms(last) - ms(first) - (ms(completed) - ms(activityStarted)));
        activityMs.push(ms(completed) - ms(activityStarted));
        firstImagingStart = Math.min(firstImagingStart, ms(activityStarted));
        lastImagingEnd = Math.max(lastImagingEnd, ms(completed));
      }
      const finishedAt = status.finishedAt ? Date.parse(status.finishedAt) : NaN;
      roundPhases.startLagMs.push(firstImagingStart - status.submittedAt);
      roundPhases.endLagMs.push(finishedAt - lastImagingEnd);
      roundPhases.seenLagMs.push(status.seenEndedAt - finishedAt);
    }

    // Accepting 1000 graphs: validation, grants, one transaction, one workflow start. The batches are
    // cancelled at once; only acceptance is measured.
    const thousand = Array.from({ length: 1000 }, (_, i) => threeOutputs('tiny.png', `accept/${i}`));
    const acceptMs: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const started = performance.now();
      const submitted = await api('/v1/batches', { graphs: thousand });
      acceptMs.push(performance.now() - started);
      if (submitted.status !== 201)
        throw new Error(`1000-graph submit failed: ${JSON.stringify(submitted.body).slice(0, 300)}`);
      await api(`/v1/batches/${(submitted.body as { batchId: string }).batchId}/cancel`, {});
    }

    // A whole batch of 1×1 images run to completion: what orchestration costs when imaging costs nothing.
    const bigServerBefore = serverCpuSeconds();
    const bigDatabaseBefore = databaseCpuSeconds();
    const bigWorkerBefore = workerCpuSeconds();
    const bigOwnBefore = process.cpuUsage();
    const bigThreadsBefore = threadCpuSeconds();
    const bigWorkerThreadsBefore = workerThreadCpuSeconds();
    const bigRequestsBefore = await temporalRequestCounts(temporal.metricsUrl);
    const historyStarted = performance.now();
    const big = await profiledPhase(() =>
      runBatch(Array.from({ length: batchSize }, (_, i) => threeOutputs('tiny.png', `history/${i}`))),
    );
    const bigMs = performance.now() - historyStarted;
    const bigOwn = process.cpuUsage(bigOwnBefore);
    const bigThreadCpuMs = threadCpuMsBetween(bigThreadsBefore, threadCpuSeconds());
    const bigWorkerThreadCpuMs = threadCpuMsBetween(bigWorkerThreadsBefore, workerThreadCpuSeconds());
    const bigWorkerCpuMs = (workerCpuSeconds() - bigWorkerBefore) * 1000;
    const bigRequestsPerGraph = countsPerBetween(
      bigRequestsBefore,
      await temporalRequestCounts(temporal.metricsUrl),
      batchSize,
    );
    const bigServerCpuMs = (serverCpuSeconds() - bigServerBefore) * 1000;
    const bigDatabaseCpuMs = (databaseCpuSeconds() - bigDatabaseBefore) * 1000;
    const bigOwnCpuMs = (bigOwn.user + bigOwn.system) / 1000;
    if (big.state !== 'succeeded') throw new Error(`1×1 batch ended ${big.state}`);
    if (big.graphs.length !== batchSize) throw new Error(`batch status lists ${big.graphs.length} graphs`);
    const batchHistory = await client.workflow.getHandle(big.workflowId).fetchHistory();
    const batchHistoryEvents = batchHistory.events?.length ?? 0;
    const batchHistoryBytes = JSON.stringify(batchHistory).length;
    const workflowTasks = (events: typeof batchHistory.events) =>
      (events ?? []).filter((e) => e.workflowTaskCompletedEventAttributes != null).length;
    let graphHistoryEvents = 0;
    let graphWorkflowTasks = 0;
    // Graphs run as activities have no histories of their own: everything is in the batch's.
    const graphsAs = stack.config.batches.graphsAs;
    const graphIds = graphsAs === 'activities' ? [] : big.graphs.map((graph) => graph.workflowId);
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let id = graphIds.pop(); id !== undefined; id = graphIds.pop()) {
          const { events } = await client.workflow.getHandle(id).fetchHistory();
          graphHistoryEvents += events?.length ?? 0;
          graphWorkflowTasks += workflowTasks(events);
        }
      }),
    );

    // The imaging inside that CPU: the same three outputs of the 1×1 PNG made by raw sharp, in this process,
    // so the figure above can be read net of the work raw sharp does too (the 320×320 cover thumbnail
    // enlarges the pixel, and is real work).
    const rawTinyGraphs = Math.min(batchSize, 500);
    const rawTinyBefore = process.cpuUsage();
    await rawRound(
      'tiny',
      Array.from({ length: rawTinyGraphs }, () => 'tiny.png'),
    );
    const rawTinyCpu = process.cpuUsage(rawTinyBefore);
    const rawSharpCpuMsPerGraph = (rawTinyCpu.user + rawTinyCpu.system) / 1000 / rawTinyGraphs;

    // The same raw-vs-pipeline comparison with the server on core 0 and this process on core 1.
    // Listed when pinned and again when unpinned: PostgreSQL may have forked backends in between.
    const serverPid = temporal.process.pid;
    const serverPids =
      serverPid === undefined
        ? undefined
        : () => [
            serverPid,
            ...(stack.databaseServerPid === undefined ? [] : processTree(stack.databaseServerPid)),
          ];
    // The worker's core: this process's (worker, API and raw sharp), or the worker process's alone, with
    // this one (the API) moved beside the servers for the pipeline rounds and back for the raw ones.
    const isolated = await isolatedComparison(
      serverPids,
      stack.workerPid ?? process.pid,
      async (round, cpus) => {
        if (workerApart) pinProcess(process.pid, round.which === 'raw' ? cpus.worker : cpus.servers);
        const started = performance.now();
        if (round.which === 'raw') await rawRound(100 + round.index);
        else await pipelineRound(100 + round.index);
        return performance.now() - started;
      },
    );
    const isolatedRatio = isolated ? round3(perSec(isolated.pipelineMs) / perSec(isolated.rawMs)) : null;

    // CPU seconds as a share of the machine's CPU time during the measured pipeline rounds.
    const pipelineRoundsMs = pipelineMs.reduce((a, b) => a + b, 0);
    const shareOfPipelineRounds = (cpuSeconds: number) =>
      cpuSeconds / ((pipelineRoundsMs / 1000) * os.availableParallelism());

    const result = {
      /** How the batches ran their graphs (PIXELSHIFT_BATCH_GRAPHS). */
      batchGraphs: graphsAs,
      /** Where the database ran (BENCH_DATABASE): in this process (pglite) or a server of its own. */
      database: databaseKind,
      rawImagesPerSec: round1(rawImagesPerSec),
      pipelineImagesPerSec: round1(pipelineImagesPerSec),
      ratio: round3(pipelineImagesPerSec / rawImagesPerSec),
      /** How the bench saw a batch end (BENCH_WAIT): following its event stream, or polling every 200 ms. */
      waitBy,
      /** The ratio with each pipeline round ending at the batch's recorded end instead of when the bench saw it. */
      ratioToRecordedEnd: round3(perSec(pipelineToRecordedEndMs) / rawImagesPerSec),
      accept1000Ms: Math.round(percentile(acceptMs, 50)),
      overheadP50Ms: Math.round(percentile(overheads, 50)),
      overheadP95Ms: Math.round(percentile(overheads, 95)),
      /** Share of the measured pipeline time the imaging slots were busy running graphs. */
      imagingUtilisation: round3(activityMs.reduce((a, b) => a + b, 0) / (pipelineRoundsMs * slots)),
      activityP50Ms: Math.round(percentile(activityMs, 50)),
      /** Medians over the measured rounds: submission → first imaging start, last imaging end → the
       * batch's recorded end, and that end → the bench seeing it (`waitBy`). */
      roundPhasesP50Ms: Object.fromEntries(
        Object.entries(roundPhases).map(([name, values]) => [name, Math.round(percentile(values, 50))]),
      ),
      /** Share of the machine's CPU time during the pipeline rounds taken by the Temporal dev server. */
      temporalServerCpuShare: round3(shareOfPipelineRounds(serverCpu)),
      /** The same for the PostgreSQL server; null with the embedded PGlite (its CPU is this process's). */
      databaseServerCpuShare: postgres ? round3(shareOfPipelineRounds(databaseCpu)) : null,
      /** This process's: worker and API, or the API alone with `workerProcessCpuShare` beside it. */
      ownProcessCpuShare: round3(shareOfPipelineRounds(ownCpuMs / 1000)),
      /** Where the workers ran (BENCH_WORKER): in this process, or a `pixelshift worker` process. */
      worker: workerPlace,
      workerProcessCpuShare: workerApart ? round3(shareOfPipelineRounds(workerCpu)) : null,
      isolatedRatio,
      batch1000EndToEndMs: Math.round(bigMs),
      orchestrationCpuMsPerGraph: round1(
        (bigServerCpuMs + bigDatabaseCpuMs + bigOwnCpuMs + bigWorkerCpuMs) / batchSize,
      ),
      historyEventsPerGraph: round3((batchHistoryEvents + graphHistoryEvents) / batchSize),
      workflowTasksPerGraph: round3((workflowTasks(batchHistory.events) + graphWorkflowTasks) / batchSize),
      batch1000: {
        graphs: batchSize,
        state: big.state,
        seconds: round1(bigMs / 1000),
        temporalServerCpuMsPerGraph: round1(bigServerCpuMs / batchSize),
        databaseServerCpuMsPerGraph: postgres ? round1(bigDatabaseCpuMs / batchSize) : null,
        /** The worker and the API, in this process or in two. */
        workerAndApiCpuMsPerGraph: round1((bigOwnCpuMs + bigWorkerCpuMs) / batchSize),
        /** With the workers in a process of their own: what it and this one (the API) each spent. */
        apart: workerApart
          ? {
              workerCpuMsPerGraph: round1(bigWorkerCpuMs / batchSize),
              apiCpuMsPerGraph: round1(bigOwnCpuMs / batchSize),
              workerCpuMsPerGraphByThread: Object.fromEntries(
                Object.entries(bigWorkerThreadCpuMs).map(([name, ms]) => [name, round1(ms / batchSize)]),
              ),
            }
          : null,
        /** The same graph's three outputs made by raw sharp in this process (no storage, no Temporal). */
        rawSharpCpuMsPerGraph: round1(rawSharpCpuMsPerGraph),
        /** This process's CPU per graph by thread name: the main thread (API, activities, the embedded
         * database), the workflow thread, the SDK core's Rust threads, libuv and libvips workers. */
        workerAndApiCpuMsPerGraphByThread: Object.fromEntries(
          Object.entries(bigThreadCpuMs).map(([name, ms]) => [name, round1(ms / batchSize)]),
        ),
        /** The Temporal server's frontend requests by operation, and its store requests, per graph. */
        temporalRequestsPerGraph: bigRequestsPerGraph,
        batchHistoryEvents,
        graphHistoryEvents,
        historyJsonBytes: batchHistoryBytes,
      },
      isolated: isolated
        ? {
            rawImagesPerSec: round1(perSec(isolated.rawMs)),
            pipelineImagesPerSec: round1(perSec(isolated.pipelineMs)),
            rounds: isolatedRounds,
            pinning: workerApart
              ? 'Temporal server, PostgreSQL and the API on the first allowed CPU; the worker process and raw sharp on the second'
              : postgres
                ? 'Temporal server and PostgreSQL on the first allowed CPU; worker, API and raw sharp on the second'
                : 'Temporal server on the first allowed CPU; worker, API and raw sharp on the second',
          }
        : null,
      loadAverage: os.loadavg().map(round1),
      peakRssMb: rss.stop(),
      setup: { photos, graphsPerRound: items.length, rounds, imagingSlots: slots, storage: base },
      machine: describeMachine(),
    };
    printTable([
      ['measure', 'value'],
      ['raw sharp images/s', result.rawImagesPerSec],
      ['full path images/s', result.pipelineImagesPerSec],
      ['ratio (target ≥ 0.85)', result.ratio],
      ['  ratio to the batch’s recorded end (not seen yet)', result.ratioToRecordedEnd],
      ['accept 1000 graphs, median ms (target < 300)', result.accept1000Ms],
      ['orchestration overhead p50 / p95 ms', `${result.overheadP50Ms} / ${result.overheadP95Ms}`],
      ['imaging slot utilisation, activity p50 ms', `${result.imagingUtilisation}, ${result.activityP50Ms}`],
      [`round: start lag, end lag, ${waitBy} lag, p50 ms`, Object.values(result.roundPhasesP50Ms).join(', ')],
      workerApart
        ? [
            'CPU share: Temporal server, PostgreSQL, API, worker',
            `${result.temporalServerCpuShare}, ${result.databaseServerCpuShare}, ${result.ownProcessCpuShare}, ${result.workerProcessCpuShare}`,
          ]
        : postgres
          ? [
              'CPU share: Temporal server, PostgreSQL, this process',
              `${result.temporalServerCpuShare}, ${result.databaseServerCpuShare}, ${result.ownProcessCpuShare}`,
            ]
          : [
              'CPU share: Temporal server, this process',
              `${result.temporalServerCpuShare}, ${result.ownProcessCpuShare}`,
            ],
      [
        workerApart
          ? 'isolated ratio, server and API pinned apart (target ≥ 0.95)'
          : 'isolated ratio, server pinned apart (target ≥ 0.95)',
        result.isolatedRatio ?? 'skipped',
      ],
      [`${batchSize}-graph 1×1 batch end to end ms (target ≤ 15000)`, result.batch1000EndToEndMs],
      postgres
        ? [
            'orchestration CPU ms per graph (server + PostgreSQL + worker/API)',
            `${result.orchestrationCpuMsPerGraph} (${result.batch1000.temporalServerCpuMsPerGraph} + ${result.batch1000.databaseServerCpuMsPerGraph} + ${result.batch1000.workerAndApiCpuMsPerGraph})`,
          ]
        : [
            'orchestration CPU ms per graph (server + worker/API)',
            `${result.orchestrationCpuMsPerGraph} (${result.batch1000.temporalServerCpuMsPerGraph} + ${result.batch1000.workerAndApiCpuMsPerGraph})`,
          ],
      ...(result.batch1000.apart
        ? [
            [
              '  worker/API split: worker, API',
              `${result.batch1000.apart.workerCpuMsPerGraph}, ${result.batch1000.apart.apiCpuMsPerGraph}`,
            ],
          ]
        : []),
      ['of which raw sharp would spend on the same outputs', result.batch1000.rawSharpCpuMsPerGraph],
      ['history events per graph (batch + graph)', result.historyEventsPerGraph],
      ['workflow tasks per graph', result.workflowTasksPerGraph],
      [
        'Temporal server requests per graph',
        Object.entries(result.batch1000.temporalRequestsPerGraph)
          .filter(([name]) => !name.includes(':'))
          .slice(0, 8)
          .map(([name, count]) => `${name} ${count}`)
          .join(', '),
      ],
      [
        result.batch1000.apart
          ? 'worker process CPU ms per graph by thread'
          : 'worker/API CPU ms per graph by thread',
        Object.entries(
          result.batch1000.apart?.workerCpuMsPerGraphByThread ??
            result.batch1000.workerAndApiCpuMsPerGraphByThread,
        )
          .slice(0, 5)
          .map(([name, ms]) => `${name} ${ms}`)
          .join(', '),
      ],
      ['load average 1/5/15 min at the end', result.loadAverage.join(' ')],
      ['peak RSS MB', result.peakRssMb],
    ]);
    const name = `pipeline${graphsAs === 'activities' ? '-activities' : ''}${postgres ? '-postgres' : ''}${workerApart ? '-worker-process' : ''}`;
    console.log(`wrote ${await writeResult(name, result)}`);

    await stack.stop();
  } finally {
    await temporal.stop();
    await rm(root, { recursive: true, force: true });
  }
}

/** Pins every thread of process `pid` to `cpus` (a taskset CPU list). */
function pinProcess(pid: number, cpus: string): void {
  execFileSync('taskset', ['--all-tasks', '--pid', '--cpu-list', cpus, String(pid)], { stdio: 'ignore' });
}

/**
 * Runs `rounds` pairs of raw and pipeline rounds (alternating their order) with the servers (Temporal, and
 * PostgreSQL when there is one) pinned to the first allowed CPU and the worker's process to the second,
 * then unpins them all, this process too (a round may move it). Undefined when the machine cannot pin two
 * cores.
 */
async function isolatedComparison(
  serverPids: (() => readonly number[]) | undefined,
  workerPid: number,
  runRound: (
    round: { which: 'raw' | 'pipeline'; index: number },
    cpus: { servers: string; worker: string },
  ) => Promise<number>,
): Promise<{ rawMs: number[]; pipelineMs: number[] } | undefined> {
  if (serverPids === undefined || isolatedRounds < 1) return undefined;
  let every: string;
  let pinned: { servers: string; worker: string };
  try {
    // "pid 12's current affinity list: 0,1": the CPUs to give back afterwards.
    every = execFileSync('taskset', ['--pid', '--cpu-list', String(process.pid)], { encoding: 'utf8' })
      .split(':')[1]!
      .trim();
    const cpus = every.split(',').flatMap((part) => {
      const [from, to = from] = part.split('-').map(Number);
      return Array.from({ length: to! - from! + 1 }, (_, i) => from! + i);
    });
    if (cpus.length < 2) return undefined;
    pinned = { servers: String(cpus[0]), worker: String(cpus[1]) };
    for (const pid of serverPids()) pinProcess(pid, pinned.servers);
    pinProcess(workerPid, pinned.worker);
  } catch {
    return undefined;
  }
  const rawMs: number[] = [];
  const pipelineMs: number[] = [];
  try {
    for (let index = 0; index < isolatedRounds; index++) {
      const order = index % 2 === 0 ? (['raw', 'pipeline'] as const) : (['pipeline', 'raw'] as const);
      for (const which of order)
        (which === 'raw' ? rawMs : pipelineMs).push(await runRound({ which, index }, pinned));
    }
  } finally {
    for (const pid of new Set([...serverPids(), workerPid, process.pid])) {
      try {
        pinProcess(pid, every);
      } catch {
        // A backend that ended since the listing needs nothing back.
      }
    }
  }
  return { rawMs, pipelineMs };
}

type HistoryEvents = temporal.api.history.v1.IHistoryEvent[];

/** The events of one graph run as an activity, in a batch's history: its scheduling, start and completion. */
function eventsOfGraphActivity(events: HistoryEvents, activityId: string): HistoryEvents {
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityId === activityId);
  if (!scheduled) return [];
  const ofIt = (id: unknown) => String(id) === String(scheduled.eventId);
  return events.filter(
    (e) =>
      e === scheduled ||
      ofIt(e.activityTaskStartedEventAttributes?.scheduledEventId) ||
      ofIt(e.activityTaskCompletedEventAttributes?.scheduledEventId),
  );
}
