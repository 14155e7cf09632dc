/** `pixelshift api`: serves the HTTP API until SIGINT/SIGTERM. */
import { pino } from 'pino';
import { loadConfig } from '../core/config.js';
import { configurationDescription, dashboardUrl } from './banner.js';
import { prepareDashboard } from './dashboard-assets.js';
import type { CliIo } from './io.js';
import { temporalTracing, traceLogFields, type Tracing } from './tracing.js';
import { connectClient, openMigratedDatabase, startApiServer } from './wiring.js';

export async function apiCommand(io: CliIo, tracing?: Tracing): Promise<void> {
  const config = loadConfig();
  const logger = pino({ level: config.logLevel, mixin: traceLogFields });
  const database = await openMigratedDatabase(config, io.log);
  const { client: interceptors } = await temporalTracing(tracing);
  const { orchestrator, deliveries, close } = await connectClient(config, interceptors);
  // Built before listening when missing or stale, so /dashboard/ never answers from an old build.
  const dashboardDir = await prepareDashboard(io.log);
  const server = await startApiServer(config, database, orchestrator, logger, { deliveries, dashboardDir });
  io.log(`configuration: ${configurationDescription(config)}`);
  if (tracing) io.log(`tracing: ${tracing.description}`);
  io.log(`API listening on ${server.url} (OpenAPI at ${server.url}/swagger)`);
  io.log(`Dashboard: ${dashboardUrl(server.url)}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  io.log('stopping: no new connections; finishing in-flight requests, closing event streams');
  await server.close();
  await close();
  await database.close();
}
