import { startPostgres } from '../../scripts/postgres.js';
import { stopAtExit } from './services.js';
import { createFreshPostgresDatabase } from './test-databases.js';

/**
 * A fresh PostgreSQL database for tests whose processes share it (a worker in another process cannot
 * open the test's in-process PGlite): on the suite's server, or on a server of the file's own.
 */
export async function freshPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  let server = process.env.PIXELSHIFT_TEST_DATABASE_URL;
  if (!server) {
    const started = await startPostgres();
    stopAtExit(() => started.stop());
    server = started.url;
    process.env.PIXELSHIFT_TEST_DATABASE_URL = server;
  }
  return createFreshPostgresDatabase(server);
}
