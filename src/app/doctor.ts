/**
 * `pixelshift doctor`: checks what the service depends on (configuration, database and migrations,
 * Temporal namespace and search attributes, every storage connection) and says in plain words what is
 * wrong and what to do. `npm start` runs the same checks once its services are up.
 */
import { loadConfig, type Config } from '../core/config.js';
import {
  describeError,
  problemFinding,
  withinDeadline,
  okFinding,
  type Finding,
} from '../core/health/findings.js';
import { createObjectStores, type StoreRegistry } from '../core/storage/connections.js';
import { probeConnection } from '../core/storage/probe.js';
import { openDatabase, type Database } from '../db/index.js';
import { checkDatabase, unreachableDatabase } from '../db/health.js';
import { checkTemporal } from '../temporal/health.js';
import type { CliIo } from './io.js';

/** Long enough for a remote dependency under load, short enough that a dead one is reported promptly. */
export const defaultCheckDeadlineMs = 5_000;

export interface DoctorOptions {
  deadlineMs?: number;
  /** The running process's own handles (`npm start`): an embedded database must not be opened twice. */
  database?: Database;
  stores?: StoreRegistry;
}

export async function runDoctor(env: NodeJS.ProcessEnv, options: DoctorOptions = {}): Promise<Finding[]> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    return [
      problemFinding(
        'configuration',
        'configuration_invalid',
        describeError(error),
        'correct the environment variables or PIXELSHIFT_CONFIG file named above (docs/configuration.md)',
      ),
    ];
  }
  const deadlineMs = options.deadlineMs ?? defaultCheckDeadlineMs;
  const configuration = okFinding(
    'configuration',
    config.configFile ? `loaded, with ${config.configFile}` : 'loaded, on the embedded storage defaults',
  );
  const timedOut = (check: string, what: string) => () =>
    problemFinding(
      check,
      'check_timed_out',
      `${what} did not answer within ${deadlineMs} ms`,
      'check that it is running and reachable from here',
    );
  const failed = (check: string) => (error: unknown) =>
    problemFinding(
      check,
      'check_failed',
      `the check failed unexpectedly: ${describeError(error)}`,
      'look at the message above; the logs of the API or worker may say more',
    );
  const [database, temporal, storage] = await Promise.all([
    withinDeadline(
      deadlineMs,
      () => databaseFinding(config, options.database),
      timedOut('database', 'the database'),
      failed('database'),
    ),
    withinDeadline(
      deadlineMs,
      // Connecting gives up first, so that a server that is not there is named as such, not as a timeout.
      () => checkTemporal(config, Math.round(deadlineMs * 0.8)),
      timedOut('temporal', 'Temporal'),
      failed('temporal'),
    ),
    storageFindings(config, options.stores, deadlineMs, timedOut, failed),
  ]);
  return [configuration, database, temporal, ...storage];
}

async function databaseFinding(config: Config, running: Database | undefined): Promise<Finding> {
  if (running) return checkDatabase(running);
  let database: Database;
  try {
    database = await openDatabase(config.database);
  } catch (error) {
    return unreachableDatabase(config.database.kind, error);
  }
  try {
    return await checkDatabase(database);
  } finally {
    await database.close().catch(() => undefined);
  }
}

async function storageFindings(
  config: Config,
  running: StoreRegistry | undefined,
  deadlineMs: number,
  timedOut: (check: string, what: string) => () => Finding,
  failed: (check: string) => (error: unknown) => Finding,
): Promise<Finding[]> {
  const stores = running ?? createObjectStores(config.storage.connections);
  try {
    const perConnection = await Promise.all(
      Object.entries(config.storage.connections).map(([name, connection]) =>
        withinDeadline(
          deadlineMs,
          (signal) => probeConnection(name, connection, stores.get(name), config.storage.grants, signal),
          () => [timedOut(`storage ${name}`, `the storage connection ${name}`)()],
          (error) => [failed(`storage ${name}`)(error)],
        ),
      ),
    );
    return perConnection.flat();
  } finally {
    if (!running) stores.destroy();
  }
}

/** One line per finding; a problem is followed by what to do. */
export function findingLines(findings: Finding[]): string[] {
  const width = Math.max(...findings.map((finding) => finding.check.length));
  return findings.flatMap((finding) => {
    const line = `${finding.ok ? 'ok     ' : 'PROBLEM'}  ${finding.check.padEnd(width)}  ${finding.summary}`;
    return finding.ok ? [line] : [line, `${' '.repeat(9 + width + 2)}→ ${finding.action ?? ''}`];
  });
}

export async function doctorCommand(json: boolean, io: CliIo): Promise<void> {
  const findings = await runDoctor(process.env);
  const healthy = findings.every((finding) => finding.ok);
  if (json) {
    (healthy ? io.print : io.fail)({ ok: healthy, findings });
    return;
  }
  for (const line of findingLines(findings)) io.log(line);
  if (!healthy) process.exitCode = 1;
}
