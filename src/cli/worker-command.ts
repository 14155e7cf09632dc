/** `pixelshift worker`: polls the orchestration, imaging and webhooks queues until SIGINT/SIGTERM. */
import { loadConfig } from '../config/config.js';
import { createObjectStores } from '../storage/connections.js';
import { installTemporalRuntime } from '../worker/runtime.js';
import { loadWorkflowBundle } from '../worker/workflow-bundle.js';
import { createWorkers } from '../worker/worker.js';
import type { CliIo } from './io.js';
import { activityDeps, openMigratedDatabase } from './wiring.js';

export async function workerCommand(io: CliIo): Promise<void> {
  const config = loadConfig();
  // Temporal's runtime turns SIGINT/SIGTERM into a graceful shutdown of every worker.
  installTemporalRuntime({ level: 'WARN' });
  const database = await openMigratedDatabase(config, io.log);
  const stores = createObjectStores(config.storage.connections);
  const running = await createWorkers({
    config,
    deps: await activityDeps(config, database, stores),
    bundle: await loadWorkflowBundle(),
  });
  io.log(
    `worker polling ${config.temporal.taskQueues.orchestration}, ${config.temporal.taskQueues.imaging} ` +
      `and ${config.temporal.taskQueues.webhooks} ` +
      `(${config.imaging.slots} imaging slots) at ${config.temporal.address}`,
  );
  try {
    await running.run();
  } finally {
    stores.destroy();
    await database.close();
  }
}
