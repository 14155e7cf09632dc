import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { startTemporalDevServer } from '../../src/tools/temporal-cli.js';
import { installTemporalRuntime } from '../../src/temporal/worker/runtime.js';
import { loadWorkflowBundle } from '../../src/temporal/worker/workflow-bundle.js';
import { stopAtExit } from './services.js';

/**
 * The Temporal dev server for this test file: the suite's shared one, or a headless server of the
 * file's own when the file runs alone. Each file gets its own task-queue prefix, so files sharing a
 * server never pick up each other's work.
 */
export async function temporalForTests(ownAddress?: string) {
  installTemporalRuntime({ level: 'ERROR' });
  let address = ownAddress ?? process.env.PIXELSHIFT_TEST_TEMPORAL_ADDRESS;
  if (!address) {
    const server = await startTemporalDevServer({ headless: true });
    stopAtExit(() => server.stop());
    address = server.address;
    process.env.PIXELSHIFT_TEST_TEMPORAL_ADDRESS = address;
  }
  const connection = await Connection.connect({ address });
  const nativeConnection = await NativeConnection.connect({ address });
  stopAtExit(async () => {
    await connection.close();
    await nativeConnection.close();
  });
  const client = new Client({ connection, namespace: 'default' });
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  return {
    address,
    client,
    nativeConnection,
    taskQueues: {
      orchestration: `${prefix}-orchestration`,
      imaging: `${prefix}-imaging`,
      webhooks: `${prefix}-webhooks`,
    },
    bundle: await loadWorkflowBundle(),
  };
}
