import { secretsKeyFromBase64 } from '../../src/core/auth/secret-box.js';
import { createAddressPolicy } from '../../src/core/net/address-policy.js';
import { createOutboundClient } from '../../src/core/net/outbound-http.js';
import type { Db } from '../../src/db/database.js';
import type { Database } from '../../src/db/index.js';
import { databaseRunRecorder } from '../../src/db/graph-runs.js';
import { databaseThrottleGate } from '../../src/db/throttle-gate.js';
import type { StoreRegistry } from '../../src/core/storage/connections.js';
import type { ActivityDeps } from '../../src/temporal/activities/index.js';
import { MemoryGraphSource } from './memory-graphs.js';
import { defaultRetryScheduleMs } from '../../src/core/webhooks/webhook-retry.js';
import type { WebhookDeps } from '../../src/temporal/activities/webhook-activities.js';

/**
 * The webhook dependencies of engine-level tests: the real activities over the test's database, a fixed
 * secrets key, and an outbound client that may reach receivers on loopback.
 */
export function webhookDepsFor(db: Db): WebhookDeps {
  return {
    db,
    secretsKey: secretsKeyFromBase64(Buffer.alloc(32, 7).toString('base64')),
    outbound: createOutboundClient({ policy: createAddressPolicy(['127.0.0.1']) }),
    retryScheduleMs: defaultRetryScheduleMs(),
  };
}

/**
 * The activity dependencies of engine-level tests: the real throttle, read model and webhooks over the
 * test's database, the given stores, and batch graphs from memory unless the test passes its own source.
 */
export function engineDepsFor(
  database: Database,
  stores: StoreRegistry,
  imaging: ActivityDeps['imaging'],
  graphs: ActivityDeps['graphs'] = new MemoryGraphSource(),
): ActivityDeps {
  return {
    graphs,
    stores,
    imaging,
    throttle: databaseThrottleGate(database.db, { windowMs: 3_600_000 }),
    runs: databaseRunRecorder(database.db),
    webhooks: webhookDepsFor(database.db),
  };
}
