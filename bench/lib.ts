/** Helpers shared by benchmarks: machine description, memory sampling, interleaved timing, output. */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Config } from '../src/core/config.js';
import type { Database } from '../src/db/index.js';
import { createApp } from '../src/app/http-app.js';
import { startHttpServer, type HttpServer } from '../src/api/http-server.js';
import type { JobEngine } from '../src/core/jobs/orchestrator-ports.js';

export const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');

export interface Machine {
  cpuModel: string;
  cpuCount: number;
  totalMemoryMb: number;
  node: string;
  sharp: string;
  libvips: string;
  sharpConcurrency: number;
  uvThreadpoolSize: number;
  platform: string;
}

export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: os.availableParallelism(),
    totalMemoryMb: Math.round(os.totalmem() / 1024 / 1024),
    node: process.version,
    sharp: sharp.versions.sharp ?? 'unknown',
    libvips: sharp.versions.vips,
    sharpConcurrency: sharp.concurrency(),
    uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
    platform: `${os.platform()} ${os.release()}`,
  };
}

/** Samples resident memory every `everyMs` until stopped; returns the peak in MB. */
export function sampleRss(everyMs = 50): { stop(): number } {
  // memoryUsage.rss(), not memoryUsage(): the latter also walks the heap's spaces, CPU the sampler would
  // add to the process it measures.
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      return Math.round(peak / 1024 / 1024);
    },
  };
}

export interface Contender {
  name: string;
  /** Processes input `index` (0 ≤ index < items) once. */
  runItem(index: number): Promise<void>;
}

export interface Timing {
  imagesPerSec: number;
  /** Images per second in each measured round. */
  perRound: number[];
}

/**
 * Times contenders on the same inputs, alternating between them per input and reversing their order
 * from one input to the next (a b, b a, …): on a shared machine, load changes from second to second,
 * and close pairing lets both sides see the same load. `warmup` rounds are run and discarded first.
 */
export async function interleaved(
  contenders: Contender[],
  options: { items: number; rounds: number; warmup: number },
): Promise<Record<string, Timing>> {
  const ms = new Map(contenders.map((c) => [c.name, [] as number[]]));
  let flip = false;
  for (let round = 0; round < options.warmup + options.rounds; round++) {
    const roundMs = new Map(contenders.map((c) => [c.name, 0]));
    for (let index = 0; index < options.items; index++) {
      flip = !flip;
      for (const contender of flip ? contenders : [...contenders].reverse()) {
        const started = performance.now();
        await contender.runItem(index);
        roundMs.set(contender.name, roundMs.get(contender.name)! + performance.now() - started);
      }
    }
    if (round >= options.warmup) for (const [name, value] of roundMs) ms.get(name)!.push(value);
  }
  return Object.fromEntries(
    [...ms].map(([name, rounds]) => [
      name,
      {
        imagesPerSec: round1((options.items * rounds.length * 1000) / rounds.reduce((a, b) => a + b, 0)),
        perRound: rounds.map((value) => round1((options.items * 1000) / value)),
      },
    ]),
  );
}

/** The value at or below which `p` percent of `values` lie (nearest rank). */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export async function writeResult(name: string, result: unknown): Promise<string> {
  await mkdir(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${name}.json`);
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

export function printTable(rows: (string | number)[][]): void {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => String(row[column]).length)));
  for (const row of rows)
    console.log(row.map((cell, column) => String(cell).padEnd(widths[column]!)).join('  '));
}

/** The real API on a loopback port, with an access token for one key pair, as a client would use it. */
export interface ServedApi {
  server: HttpServer;
  token: string;
  /** The key pair the token was issued for (what a client SDK signs in with). */
  key: { keyId: string; secret: string };
  /** GET without a body, POST with one (JSON); answers the parsed JSON. */
  call(
    pathname: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: unknown }>;
}

export async function serveApi(
  config: Config,
  database: Database,
  orchestrator: JobEngine,
  key: { keyId: string; secret: string },
): Promise<ServedApi> {
  const app = createApp({
    db: database.db,
    progressChanges: database.progressChanges,
    orchestrator,
    config,
    jwtSecret: new TextEncoder().encode(config.auth.jwtSecret),
  });
  const server = await startHttpServer(app, config.http);
  const tokenResponse = await fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${key.keyId}:${key.secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
  const token = ((await tokenResponse.json()) as { access_token: string }).access_token;
  return {
    server,
    token,
    key,
    async call(pathname, body, headers = {}) {
      const response = await fetch(`${server.url}${pathname}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: await response.json() };
    },
  };
}

/**
 * CPU seconds (user + sys) per thread name of a process (`main` for its main thread), from /proc/<pid>/task/<tid>/stat: where a process's
 * CPU goes without a profiler (which distorts thread creation and native calls). Linux only; empty elsewhere.
 */
export function threadCpuSeconds(pid: number | 'self' = 'self'): Map<string, number> {
  const byName = new Map<string, number>();
  const ticksPerSecond = 100; // USER_HZ on Linux
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // The main thread is told apart from worker threads, which Node names after it.
      const name =
        tid === String(pid === 'self' ? process.pid : pid)
          ? 'main'
          : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
      // BENCH_BY_TID=1 keeps threads of one name apart (the workflow thread from V8's helper threads).
      const key = process.env.BENCH_BY_TID ? `${name}#${tid}` : name;
      byName.set(key, (byName.get(key) ?? 0) + seconds);
    } catch {
      // The thread ended between the listing and the read; its time is gone from both samples.
    }
  }
  return byName;
}

/** CPU seconds (user + sys) a process has used, from /proc/<pid>/stat; 0 when it cannot be read. */
export function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * A process and every process below it (a PostgreSQL server and its backends), each with the CPU seconds
 * it has used, user + sys, its reaped children's included (cutime, cstime): one pass over /proc, so the
 * listing and the times agree. Empty when the process is gone.
 */
function processTreeWithCpu(pid: number): { pid: number; cpuSeconds: number }[] {
  const children = new Map<number, number[]>();
  const cpuSeconds = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // After the name: state, ppid, …, then utime as the 12th field, stime, cutime, cstime.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const parent = Number(fields[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
      cpuSeconds.set(
        Number(entry),
        fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) / 100,
      );
    } catch {
      // The process ended between the listing and the read: its time is in its parent's cutime.
    }
  }
  if (!cpuSeconds.has(pid)) return [];
  const found: { pid: number; cpuSeconds: number }[] = [];
  const visit = (at: number) => {
    found.push({ pid: at, cpuSeconds: cpuSeconds.get(at) ?? 0 });
    for (const child of children.get(at) ?? []) visit(child);
  };
  visit(pid);
  return found;
}

/** The pids of a process and every process below it; [] when it is gone. */
export function processTree(pid: number): number[] {
  return processTreeWithCpu(pid).map((member) => member.pid);
}

/** CPU seconds (user + sys) a process tree has used, live and reaped processes alike; 0 when it is gone. */
export function processTreeCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  return processTreeWithCpu(pid).reduce((sum, member) => sum + member.cpuSeconds, 0);
}

/** Per-name difference of two `threadCpuSeconds` samples, in ms, largest first. */
export function threadCpuMsBetween(
  before: Map<string, number>,
  after: Map<string, number>,
): Record<string, number> {
  const spent = [...after].map(
    ([name, seconds]) => [name, (seconds - (before.get(name) ?? 0)) * 1000] as const,
  );
  return Object.fromEntries(spent.filter(([, ms]) => ms > 0).sort((a, b) => b[1] - a[1]));
}

/**
 * Request counts of a Temporal server, from its Prometheus endpoint: the frontend's requests by operation
 * (what the workers and clients asked), and its persistence and visibility-store requests (what each of
 * those cost it). Counts, not times: they compare exactly between runs at any load.
 */
export async function temporalRequestCounts(metricsUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(metricsUrl)).text();
  const counts = new Map<string, number>();
  const add = (key: string, value: number) => counts.set(key, (counts.get(key) ?? 0) + value);
  for (const line of text.split('\n')) {
    const match =
      /^(service_requests|persistence_requests|visibility_persistence_requests)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match) continue;
    const [, metric, labels, value] = match;
    const label = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(labels!)?.[1] ?? '';
    if (metric === 'service_requests') {
      if (label('service_name') === 'frontend') add(label('operation'), Number(value));
    } else {
      const store = metric === 'persistence_requests' ? 'persistence' : 'visibility';
      add(`(${store})`, Number(value));
      add(`${store}:${label('operation')}`, Number(value));
    }
  }
  return counts;
}

/** Per-key difference of two `temporalRequestCounts` samples divided by `per`, largest first, zeros left out. */
export function countsPerBetween(
  before: Map<string, number>,
  after: Map<string, number>,
  per: number,
): Record<string, number> {
  const spent = [...after].map(([key, value]) => [key, (value - (before.get(key) ?? 0)) / per] as const);
  return Object.fromEntries(
    spent
      .filter(([, value]) => value > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([key, value]) => [key, Math.round(value * 1000) / 1000]),
  );
}

/**
 * With BENCH_CPU_PROFILE=<file>, a CPU profile of this process's main thread while `measure` runs (an
 * inspector session, so only that phase is profiled); without it, just `measure`. For finding where a
 * phase's CPU goes; a profile slows what it watches, so figures of a profiled run do not compare.
 */
export async function profiledPhase<T>(measure: () => Promise<T>): Promise<T> {
  const file = process.env.BENCH_CPU_PROFILE;
  if (!file) return measure();
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await measure();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
    session.disconnect();
  }
}
