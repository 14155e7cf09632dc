/**
 * A throwaway PostgreSQL server for tests (docs/architecture.md §12, §14): Debian's binaries, a fresh cluster in a
 * temp dir, loopback only, durability switched off (the data dies with the run anyway).
 *
 * Usage from code: `const pg = await startPostgres(); ... await pg.stop();`
 * Usage from a shell: `node --import tsx scripts/postgres.ts` prints the URL and runs until Ctrl-C.
 */
import { execFileSync, spawn, type ChildProcess, type ExecFileSyncOptions } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from '../src/tools/ports.js';

export interface PostgresServer {
  /** Connection URL of the database created for the run. */
  url: string;
  /** Connection URL of the `postgres` maintenance database (to create more databases). */
  adminUrl: string;
  port: number;
  /** The server's own process (the postmaster); its backends are its children. */
  pid: number | undefined;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Name of the database to create; `pixelshift_test` by default. */
  database?: string;
  /** How long to wait for the server to accept connections. */
  timeoutMs?: number;
}

const debianRoot = '/usr/lib/postgresql';

/** The newest Debian PostgreSQL `bin` directory (or `PIXELSHIFT_POSTGRES_BIN`), if any is installed. */
export function findPostgresBin(): string | undefined {
  const override = process.env.PIXELSHIFT_POSTGRES_BIN;
  if (override) return existsSync(path.join(override, 'initdb')) ? override : undefined;
  if (!existsSync(debianRoot)) return undefined;
  const versions = readdirSync(debianRoot)
    .filter((name) => existsSync(path.join(debianRoot, name, 'bin', 'initdb')))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  return versions[0] === undefined ? undefined : path.join(debianRoot, versions[0], 'bin');
}

/** PostgreSQL refuses to run as root: as root we run it as the `postgres` OS user Debian's package creates. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch (error) {
    throw new Error('running as root needs the "postgres" OS user (apt-get install postgresql creates it)', {
      cause: error,
    });
  }
}

const missingBinariesHint = `no PostgreSQL binaries under ${debianRoot}/*/bin: apt-get install -y --no-install-recommends postgresql`;

/**
 * Why no PostgreSQL server can be started here (no binaries, and not root with apt-get to install them),
 * or undefined when one can: tests that cannot run without one skip with this reason.
 */
export function postgresUnavailable(): string | undefined {
  if (findPostgresBin()) return undefined;
  if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) return undefined;
  return missingBinariesHint;
}

/**
 * The tests that run processes side by side (a worker killed and replaced) need a real server, so on a
 * machine without one the project installs Debian's package itself, as root, once; elsewhere it says how.
 */
export function ensurePostgresBin(): string {
  const found = findPostgresBin();
  if (found) return found;
  const unavailable = postgresUnavailable();
  if (unavailable) throw new Error(unavailable);
  const hint = missingBinariesHint;
  const apt: ExecFileSyncOptions = {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  };
  try {
    execFileSync('apt-get', ['update'], apt);
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql'], apt);
  } catch (error) {
    throw new Error(`${hint} (installing it failed)`, { cause: error });
  }
  const installed = findPostgresBin();
  if (!installed) throw new Error(hint);
  return installed;
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bin = ensurePostgresBin();
  const user = serverUser();
  const root = mkdtempSync(path.join(os.tmpdir(), 'pixelshift-pg-'));
  if (user) chownSync(root, user.uid, user.gid);
  const dataDir = path.join(root, 'data');
  const asServerUser = { ...(user ?? {}), env: { ...process.env, HOME: root, LC_ALL: 'C' } };

  try {
    execFileSync(
      path.join(bin, 'initdb'),
      ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-sync'],
      { ...asServerUser, stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`initdb failed: ${String((error as { stderr?: Buffer }).stderr ?? error)}`, {
      cause: error,
    });
  }

  const port = await freePort();
  // The server runs in the foreground as our child (not daemonised by pg_ctl), so its lifetime is ours.
  const child = spawn(
    path.join(bin, 'postgres'),
    [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-k',
      root, // unix socket in the temp dir, never the system's /var/run/postgresql
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
    ],
    { ...asServerUser, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A test run that crashes must not leave a server behind.
  const killOnExit = () => {
    child.kill('SIGQUIT');
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);

  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const database = options.database ?? 'pixelshift_test';
  try {
    await waitUntilAccepting(adminUrl, child, () => log, options.timeoutMs ?? 30_000);
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query(`create database ${quoteIdentifier(database)}`);
    } finally {
      await admin.end();
    }
  } catch (error) {
    await stopChild(child, exited);
    process.removeListener('exit', killOnExit);
    rmSync(root, { recursive: true, force: true });
    throw error;
  }

  return {
    url: `postgres://postgres@127.0.0.1:${port}/${database}`,
    adminUrl,
    port,
    pid: child.pid,
    async stop() {
      process.removeListener('exit', killOnExit);
      await stopChild(child, exited);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

async function waitUntilAccepting(
  url: string,
  child: ChildProcess,
  log: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`postgres exited before accepting connections:\n${log()}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch {
      // "the database system is starting up" or not listening yet: try again shortly.
    } finally {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline)
      throw new Error(`postgres did not accept connections within ${timeoutMs} ms:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** SIGINT is PostgreSQL's "fast shutdown": roll back open transactions, close clients, exit. */
async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGINT');
  const stopped = await Promise.race([exited.then(() => true), delay(10_000).then(() => false)]);
  if (!stopped) {
    child.kill('SIGKILL');
    await exited;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

// Run directly: start a server, print its URL, stop on Ctrl-C.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const server = await startPostgres();
  console.log(server.url);
  const stop = () => {
    void server.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // Keep the event loop alive until a signal arrives.
  setInterval(() => undefined, 1 << 30);
}
