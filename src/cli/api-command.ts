/** `pixelshift api`: serves the HTTP API until SIGINT/SIGTERM. */
import { pino } from 'pino';
import { loadOrCreateJwtSecret } from '../auth/jwt-secret.js';
import { loadConfig } from '../config/config.js';
import { createApp } from '../http/app.js';
import { startHttpServer } from '../http/server.js';
import type { CliIo } from './io.js';
import { connectClient, openMigratedDatabase } from './wiring.js';

export async function apiCommand(io: CliIo): Promise<void> {
  const config = loadConfig();
  const logger = pino({ level: config.logLevel });
  const database = await openMigratedDatabase(config, io.log);
  const { client, orchestrator } = await connectClient(config);
  const app = createApp({
    db: database.db,
    orchestrator,
    config,
    jwtSecret: await loadOrCreateJwtSecret(config),
    logger,
  });
  const server = await startHttpServer(app, config.http);
  io.log(`API listening on ${server.url} (OpenAPI at ${server.url}/swagger)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  await client.connection.close();
  await database.close();
}
