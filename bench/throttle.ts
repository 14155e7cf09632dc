/**
 * What the throttle costs (docs/decisions.md "Throttle"), measured in one run on this machine:
 * - reservations per second, sustained: direct `reserveSlot` calls (one transaction each, under the
 *   account's advisory lock) on PGlite and, when its binaries are installed, on a PostgreSQL server —
 *   all on one account (the worst case: every call waits for the same lock) and spread over 8 accounts;
 * - pipeline throughput with a throttle configured but never binding (1,000,000 per hour) as a ratio to
 *   the same run with PIXELSHIFT_THROTTLE=off: HTTP → Temporal → worker → local storage, the
 *   `npm start` topology, rounds alternating on/off (ABBA) so both see the same machine load. Once with
 *   the photos of the pipeline bench (the representative case) and once with 1×1 images, where
 *   orchestration is all there is (the worst case for a per-graph cost).
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { findPostgresBin, startPostgres } from '../scripts/postgres.js';
import { createApiKey } from '../src/db/api-key-credentials.js';
import { activityDeps } from '../src/app/wiring.js';
import { loadConfig, type Config } from '../src/core/config.js';
import { ensureAccount, migrate, openDatabase, type Database } from '../src/db/index.js';
import { createApp } from '../src/app/http-app.js';
import { startHttpServer, type HttpServer } from '../src/api/http-server.js';
import { TemporalJobEngine } from '../src/temporal/client/temporal-orchestrator.js';
import { createObjectStores } from '../src/core/storage/connections.js';
import { sql } from 'drizzle-orm';
import { queryRows } from '../src/db/database.js';
import { reserveSlot, setLimit } from '../src/db/throttle-reservations.js';
import { startTemporalDevServer } from '../src/tools/temporal-cli.js';
import { installTemporalRuntime } from '../src/temporal/worker/runtime.js';
import { buildWorkflowBundle } from '../src/temporal/worker/workflow-bundle.js';
import { createWorkers } from '../src/temporal/worker/worker.js';
import { batchWorkflowId } from '../src/core/jobs/workflow-ids.js';
import type { BatchStatus } from '../src/core/jobs/job-status.js';
import { fixturePath } from '../test/support/fixtures.js';
import { photoFixtures, threeOutputGraph } from '../test/support/graphs.js';
import { describeMachine, printTable, round1, round3, writeResult } from './lib.js';

const reserveSeconds = Number(process.env.BENCH_RESERVE_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 8);
const photos = photoFixtures;
const photoGraphsPerRound = 40;
const tinyGraphsPerRound = 60;
const hour = 3_600_000;

interface ReservationRun {
  reservationsPerSec: number;
  accounts: number;
  concurrency: number;
  reservations: number;
}

/** `concurrency` callers reserving new graph keys as fast as they can for `reserveSeconds`. */
async function reservationRate(
  databases: Database[],
  options: { accounts: number; concurrency: number; label: string },
): Promise<ReservationRun> {
  const db = databases[0]!.db;
  const accounts = Array.from({ length: options.accounts }, (_, i) => `bench-${options.label}-${i}`);
  for (const id of accounts) {
    await ensureAccount(db, { id, name: id });
    await setLimit(db, { accountId: id, limit: 1_000_000, windowMs: hour });
  }
  let count = 0;
  let measuring = false;
  const lane = async (index: number, until: number) => {
    const client = databases[index % databases.length]!.db;
    const accountId = accounts[index % accounts.length]!;
    for (let i = 0; performance.now() < until; i++) {
      await reserveSlot(client, {
        accountId,
        graphKey: `graph/${accountId}/b/${index}-${i}`,
        windowMs: hour,
      });
      if (measuring) count += 1;
    }
  };
  // One second of warm-up, then the measured stretch.
  await Promise.all(
    Array.from({ length: options.concurrency }, (_, i) => lane(i + 1000, performance.now() + 1000)),
  );
  measuring = true;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, (_, i) => lane(i, performance.now() + reserveSeconds * 1000)),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    reservationsPerSec: round1(count / seconds),
    accounts: options.accounts,
    concurrency: options.concurrency,
    reservations: count,
  };
}

const threeOutputs = (key: string, outPrefix: string) => threeOutputGraph('photos', key, 'out', outPrefix);

async function pipelineRatio(): Promise<{
  nonBindingRatio: number;
  tinyImagesRatio: number;
  photos: Record<'on' | 'off', { imagesPerSec: number; perRound: number[] }>;
  tiny: Record<'on' | 'off', { imagesPerSec: number; perRound: number[] }>;
}> {
  installTemporalRuntime({ level: 'ERROR' });
  const base = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const root = await mkdtemp(path.join(base, 'pixelshift-throttle-'));
  const temporal = await startTemporalDevServer({ headless: true });
  const closers: (() => Promise<unknown>)[] = [];
  try {
    await mkdir(path.join(root, 'storage', 'photos'), { recursive: true });
    await mkdir(path.join(root, 'storage', 'out'), { recursive: true });
    for (const photo of photos)
      await copyFile(fixturePath(photo), path.join(root, 'storage', 'photos', photo));
    await copyFile(fixturePath('png-1x1-palette.png'), path.join(root, 'storage', 'photos', 'tiny.png'));

    const on: Config = loadConfig({
      PIXELSHIFT_DATA_DIR: root,
      PIXELSHIFT_JWT_SECRET: randomBytes(32).toString('base64url'),
      TEMPORAL_ADDRESS: temporal.address,
      PIXELSHIFT_IMAGING_SLOTS: '2',
      PIXELSHIFT_THROTTLE: 'on',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'silent',
    });
    const off: Config = { ...on, throttle: { ...on.throttle, enabled: false } };
    const database = await openDatabase({ kind: 'pglite' });
    closers.push(() => database.close());
    await migrate(database.db);
    await ensureAccount(database.db, { id: 'bench', name: 'bench' });
    // Configured, never binding.
    await setLimit(database.db, { accountId: 'bench', limit: 1_000_000, windowMs: on.throttle.windowMs });
    const key = await createApiKey(database.db, 'bench');
    const stores = createObjectStores(on.storage.connections);
    closers.push(() => Promise.resolve(stores.destroy()));
    const nativeConnection = await NativeConnection.connect({ address: temporal.address });
    closers.push(() => nativeConnection.close());
    // One worker with the database gate serves both; the switch travels with each batch it starts.
    const workers = await createWorkers({
      config: on,
      deps: await activityDeps(on, database, stores),
      bundle: await buildWorkflowBundle(),
      connection: nativeConnection,
    });
    const workersDone = workers.run();
    closers.push(async () => {
      await workers.shutdown();
      await workersDone;
    });
    const connection = await Connection.connect({ address: temporal.address });
    closers.push(() => connection.close());
    const client = new Client({ connection });
    const jwtSecret = new TextEncoder().encode(on.auth.jwtSecret);
    const servers: Record<'on' | 'off', HttpServer> = {
      on: await startHttpServer(
        createApp({
          db: database.db,
          orchestrator: new TemporalJobEngine(client, on),
          config: on,
          jwtSecret,
        }),
        on.http,
      ),
      off: await startHttpServer(
        createApp({
          db: database.db,
          orchestrator: new TemporalJobEngine(client, off),
          config: off,
          jwtSecret,
        }),
        off.http,
      ),
    };
    closers.push(
      () => servers.on.close(),
      () => servers.off.close(),
    );
    const tokenResponse = await fetch(`${servers.on.url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${key.keyId}:${key.secret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    const token = ((await tokenResponse.json()) as { access_token: string }).access_token;

    /** Submits through the mode's API and waits on the workflow result (no polling to skew timing). */
    const runBatch = async (mode: 'on' | 'off', graphs: unknown[]): Promise<number> => {
      const started = performance.now();
      const response = await fetch(`${servers[mode].url}/v1/batches`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ graphs }),
      });
      const body = (await response.json()) as { batchId: string };
      if (response.status !== 201) throw new Error(`submit failed: ${JSON.stringify(body)}`);
      const status = (await client.workflow
        .getHandle(batchWorkflowId('bench', body.batchId))
        .result()) as BatchStatus;
      if (status.state !== 'succeeded')
        throw new Error(`${mode} round failed: ${JSON.stringify(status.counts)}`);
      return performance.now() - started;
    };

    const measure = async (label: string, graphsFor: (round: string) => unknown[]) => {
      const ms: Record<'on' | 'off', number[]> = { on: [], off: [] };
      await runBatch('off', graphsFor(`${label}-warm-off`));
      await runBatch('on', graphsFor(`${label}-warm-on`));
      for (let round = 0; round < rounds; round++) {
        // ABBA: on off off on on off …
        const order: ('on' | 'off')[] = round % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
        for (const mode of order) ms[mode].push(await runBatch(mode, graphsFor(`${label}-${round}-${mode}`)));
      }
      const count = graphsFor('count').length;
      const rate = (values: number[]) => ({
        imagesPerSec: round1((count * values.length * 1000) / values.reduce((a, b) => a + b, 0)),
        perRound: values.map((value) => round1((count * 1000) / value)),
      });
      return { on: rate(ms.on), off: rate(ms.off) };
    };

    const photoResult = await measure('photo', (round) =>
      Array.from({ length: photoGraphsPerRound }, (_, i) =>
        threeOutputs(photos[i % photos.length]!, `${round}/${i}`),
      ),
    );
    const tinyResult = await measure('tiny', (round) =>
      Array.from({ length: tinyGraphsPerRound }, (_, i) => threeOutputs('tiny.png', `${round}/${i}`)),
    );
    return {
      nonBindingRatio: round3(photoResult.on.imagesPerSec / photoResult.off.imagesPerSec),
      tinyImagesRatio: round3(tinyResult.on.imagesPerSec / tinyResult.off.imagesPerSec),
      photos: photoResult,
      tiny: tinyResult,
    };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await temporal.stop();
    await rm(root, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const pglite = await openDatabase({ kind: 'pglite' });
  await migrate(pglite.db);
  const pgliteOne = await reservationRate([pglite], { accounts: 1, concurrency: 1, label: 'pglite' });
  await pglite.close();

  let postgres:
    | { oneAccount: ReservationRun; eightAccounts: ReservationRun; bytesPerReservation: number; rows: number }
    | undefined;
  if (findPostgresBin()) {
    const server = await startPostgres({ database: 'pixelshift_bench' });
    // Two pools, as two worker processes would have.
    const pools = [
      await openDatabase({ kind: 'postgres', url: server.url }),
      await openDatabase({ kind: 'postgres', url: server.url }),
    ];
    try {
      await migrate(pools[0]!.db);
      const oneAccount = await reservationRate(pools, { accounts: 1, concurrency: 8, label: 'pg-one' });
      const eightAccounts = await reservationRate(pools, { accounts: 8, concurrency: 8, label: 'pg-eight' });
      // Table and index bytes per row (all three indexes), for the cost of a window's worth of rows.
      await pools[0]!.db.execute(sql`vacuum analyze throttle_reservations`);
      const [size] = await queryRows<{ bytes: string; rows: string }>(
        pools[0]!.db,
        sql`select pg_total_relation_size('throttle_reservations') as bytes, count(*) as rows from throttle_reservations`,
      );
      postgres = {
        oneAccount,
        eightAccounts,
        rows: Number(size?.rows),
        bytesPerReservation: Math.round(Number(size?.bytes) / Number(size?.rows)),
      };
    } finally {
      for (const pool of pools) await pool.close();
      await server.stop();
    }
  }

  const pipeline = await pipelineRatio();
  // The headline: the production database with every call on one account's lock, or PGlite without one.
  const reservationsPerSec = postgres?.oneAccount.reservationsPerSec ?? pgliteOne.reservationsPerSec;
  const result = {
    reservationsPerSec,
    nonBindingRatio: pipeline.nonBindingRatio,
    machine: describeMachine(),
    details: {
      reservations: {
        headline: postgres ? 'postgres, one account, 8 concurrent callers' : 'pglite, one caller',
        pglite: pgliteOne,
        ...(postgres
          ? { postgres: { ...postgres, server: 'scripts/postgres.ts (fsync and synchronous_commit off)' } }
          : {}),
        seconds: reserveSeconds,
      },
      pipeline: {
        tinyImagesRatio: pipeline.tinyImagesRatio,
        photos: pipeline.photos,
        tiny: pipeline.tiny,
        setup: {
          rounds,
          photoGraphsPerRound,
          tinyGraphsPerRound,
          imagingSlots: 2,
          database: 'pglite (in process)',
          limit: 1_000_000,
        },
      },
    },
  };
  printTable([
    ['measure', 'value'],
    ['reservations/s, PGlite, 1 caller', pgliteOne.reservationsPerSec],
    ...(postgres
      ? [
          ['reservations/s, PostgreSQL, 1 account, 8 callers', postgres.oneAccount.reservationsPerSec],
          ['reservations/s, PostgreSQL, 8 accounts, 8 callers', postgres.eightAccounts.reservationsPerSec],
          ['PostgreSQL bytes per reservation (table + indexes)', postgres.bytesPerReservation],
        ]
      : []),
    [
      'photos images/s: throttle on (non-binding) / off',
      `${pipeline.photos.on.imagesPerSec} / ${pipeline.photos.off.imagesPerSec}`,
    ],
    ['nonBindingRatio (target ≥ 0.98)', pipeline.nonBindingRatio],
    ['1×1 images/s: on / off', `${pipeline.tiny.on.imagesPerSec} / ${pipeline.tiny.off.imagesPerSec}`],
    ['1×1 ratio (orchestration only)', pipeline.tinyImagesRatio],
  ]);
  console.log(`wrote ${await writeResult('throttle', result)}`);
}
