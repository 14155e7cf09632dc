/**
 * `pixelshift setup`: prepares an existing Temporal cluster: creates the namespace when it is missing
 * and registers the search attributes (idempotent: already-present attributes are left alone).
 */
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import protos from '@temporalio/proto';
import type { Config } from '../core/config.js';
import { pixelshiftSearchAttributes } from './search-attributes.js';

type SearchAttributeKeys = readonly (typeof pixelshiftSearchAttributes)[number][];

export interface SetupReport {
  namespaceCreated: boolean;
  searchAttributesAdded: string[];
}

export async function setupTemporal(config: Pick<Config, 'temporal'>): Promise<SetupReport> {
  const connection = await Connection.connect({
    address: config.temporal.address,
    ...(config.temporal.tls ? { tls: true } : {}),
    ...(config.temporal.apiKey ? { apiKey: config.temporal.apiKey } : {}),
  });
  try {
    const namespace = config.temporal.namespace;
    let namespaceCreated = false;
    try {
      await connection.workflowService.describeNamespace({ namespace });
    } catch {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs('7 days'),
      });
      namespaceCreated = true;
    }
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const present = new Set(Object.keys(existing.customAttributes ?? {}));
    const missing = pixelshiftSearchAttributes.filter((key) => !present.has(key.name));
    await addSearchAttributes(connection, namespace, missing);
    return { namespaceCreated, searchAttributesAdded: missing.map((key) => key.name) };
  } finally {
    await connection.close();
  }
}

/**
 * Registers search attributes (all of ours are keywords) in a namespace. Also how the time-skipping test
 * server, which cannot list them, gets them (test/support/time-skipping.ts).
 */
export async function addSearchAttributes(
  connection: Connection,
  namespace: string,
  keys: SearchAttributeKeys = pixelshiftSearchAttributes,
): Promise<void> {
  if (keys.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      keys.map((key) => [key.name, protos.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
    ),
  });
}
