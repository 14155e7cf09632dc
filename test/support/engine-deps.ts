import { secretsKeyFromBase64 } from '../../src/core/auth/secret-box.js';
import { createAddressPolicy } from '../../src/core/net/address-policy.js';
import { createOutboundClient } from '../../src/core/net/outbound-http.js';
import type { Db } from '../../src/db/database.js';
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
