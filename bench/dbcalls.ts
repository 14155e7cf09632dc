/**
 * What the embedded database's Drizzle handle costs per call (src/db/database.ts), measured in one run on
 * this machine: the calls each graph of a batch makes on the read model (its graph loaded, `running`, its
 * end with three outputs), the batch's progress read a status poll makes, and a trivial `select 1`, each
 * as CPU ms per call (`process.cpuUsage()`, PGlite runs in this thread). Rounds alternate between the
 * handle `openDatabase` gives and a bare Drizzle handle on the same PGlite client and data dir, so both
 * see the same machine; every round runs on a fresh 1000-graph batch.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { sql } from 'drizzle-orm';
import {
  createAccount,
  getBatchGraph,
  insertBatch,
  migrate,
  pgliteDatabase,
  schema,
  type Db,
} from '../src/db/index.js';
import { advanceGraphRun, batchProgress } from '../src/db/graph-runs.js';
import type { SinkOutcome } from '../src/core/jobs/job-status.js';
import { graphWorkflowId } from '../src/core/jobs/workflow-ids.js';
import { threeOutputGraph } from '../test/support/graphs.js';
import { describeMachine, printTable, round3, writeResult } from './lib.js';

const graphsPerRound = Number(process.env.BENCH_GRAPHS ?? 1000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
const accountId = 'bench';

const sinks: SinkOutcome[] = [1, 2, 3].map((n) => ({
  storage: 'local',
  bucket: 'out',
  key: `history/${n}.webp`,
  bytes: 120,
  format: 'webp',
  width: 1,
  height: 1,
  etag: `"${'0'.repeat(31)}${n}"`,
}));

type CallName = 'load the graph' | 'record running' | 'record the end' | 'batch progress' | 'select 1';

/** CPU ms per call of each kind, for one round on one handle. */
async function round(db: Db, batchId: string): Promise<Record<CallName, number>> {
  await insertBatch(db, {
    batchId,
    accountId,
    graphs: Array.from({ length: graphsPerRound }, (_, i) =>
      threeOutputGraph('photos', 'tiny.png', 'out', `r/${i}`),
    ),
  });
  const key = (index: number) => graphWorkflowId(accountId, batchId, index);
  const perCall = async (calls: (index: number) => Promise<unknown>): Promise<number> => {
    const before = process.cpuUsage();
    for (let index = 0; index < graphsPerRound; index++) await calls(index);
    const spent = process.cpuUsage(before);
    return (spent.user + spent.system) / 1000 / graphsPerRound;
  };
  return {
    'load the graph': await perCall((i) => getBatchGraph(db, accountId, batchId, i)),
    'record running': await perCall((i) => advanceGraphRun(db, key(i), { state: 'running' })),
    'record the end': await perCall((i) =>
      advanceGraphRun(db, key(i), { state: 'succeeded', sinks, failures: [], sourcePixels: 1 }),
    ),
    'batch progress': await perCall(() => batchProgress(db, batchId)),
    'select 1': await perCall(() => db.execute(sql`select 1`)),
  };
}

export async function run(): Promise<void> {
  const base = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const dir = await mkdtemp(path.join(base, 'pixelshift-dbcalls-'));
  const client = new PGlite(dir);
  try {
    await client.waitReady;
    const built = pgliteDatabase(client).db;
    const bare: Db = drizzle({ client, schema });
    await migrate(built);
    await createAccount(built, { id: accountId, name: 'Bench' });
    const handles = { built, bare } as const;
    type Handle = keyof typeof handles;
    const samples: Record<Handle, Record<CallName, number>[]> = { built: [], bare: [] };
    // A warm-up round of each, then measured rounds in ABBA order.
    await round(built, 'warm-built');
    await round(bare, 'warm-bare');
    for (let r = 0; r < rounds; r++) {
      const order: Handle[] = r % 2 === 0 ? ['built', 'bare'] : ['bare', 'built'];
      for (const handle of order) samples[handle].push(await round(handles[handle], `${handle}-${r}`));
    }
    const mean = (handle: Handle, call: CallName) =>
      samples[handle].reduce((sum, sample) => sum + sample[call], 0) / samples[handle].length;
    const calls = Object.keys(samples.built[0]!) as CallName[];
    const perCall = Object.fromEntries(
      calls.map((call) => [
        call,
        {
          cpuMsBuilt: round3(mean('built', call)),
          cpuMsBare: round3(mean('bare', call)),
          ratio: round3(mean('built', call) / mean('bare', call)),
        },
      ]),
    );
    const graphCalls: CallName[] = ['load the graph', 'record running', 'record the end'];
    const perGraph = (handle: Handle) => graphCalls.reduce((sum, call) => sum + mean(handle, call), 0);
    const result = {
      machine: describeMachine(),
      graphsPerRound,
      rounds,
      cpuMsPerCall: perCall,
      perGraphCpuMs: { built: round3(perGraph('built')), bare: round3(perGraph('bare')) },
      loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
    };
    printTable([
      ['call (CPU ms per call)', 'openDatabase handle', 'bare Drizzle', 'ratio'],
      ...calls.map((call) => [
        call,
        perCall[call]!.cpuMsBuilt,
        perCall[call]!.cpuMsBare,
        perCall[call]!.ratio,
      ]),
      [
        'a batch graph’s three calls',
        result.perGraphCpuMs.built,
        result.perGraphCpuMs.bare,
        round3(perGraph('built') / perGraph('bare')),
      ],
    ]);
    console.log(`wrote ${await writeResult('dbcalls', result)}`);
  } finally {
    await client.close();
    await rm(dir, { recursive: true, force: true });
  }
}
