/** The database self-check of `pixelshift doctor`: it answers, and every migration file is applied. */
import { describeError, okFinding, problemFinding, type Finding } from '../core/health/findings.js';
import type { Database } from './database.js';
import { appliedMigrations, readMigrationFiles } from './migrate.js';

export async function checkDatabase(database: Database, migrationsDirectory?: string): Promise<Finding> {
  try {
    await database.ping();
  } catch (error) {
    return unreachableDatabase(database.kind, error);
  }
  const applied = new Set(await appliedMigrations(database.db));
  const pending = readMigrationFiles(migrationsDirectory)
    .map((file) => file.name)
    .filter((name) => !applied.has(name));
  if (pending.length > 0) {
    return problemFinding(
      'database',
      'migrations_pending',
      `${pending.length} migration(s) not applied: ${pending.join(', ')}`,
      'run `pixelshift migrate` (the API and worker also apply them when they start)',
    );
  }
  return okFinding('database', `${database.kind} answers; all ${applied.size} migrations are applied`);
}

export function unreachableDatabase(kind: Database['kind'], error: unknown): Finding {
  return problemFinding(
    'database',
    'database_unreachable',
    `the ${kind} database does not answer: ${describeError(error)}`,
    kind === 'postgres'
      ? 'check DATABASE_URL (host, port, user, password, database name) and that the server is running'
      : 'check that PIXELSHIFT_DATA_DIR is writable and that no other process holds its database',
  );
}
