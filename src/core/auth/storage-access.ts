/**
 * Which storage a graph may touch (docs/architecture.md §6): every StorageSource, StorageSink and Watermark names a
 * connection (default `default`) that must exist in server config, and a bucket that must be granted to
 * the account (its own grants plus those under `"*"`). Pure: checked before anything is stored or started.
 */
import type { TransformGraph } from '../graph/graph.js';
import { pointer } from '../graph/issues.js';
import type { TransformUnit } from '../graph/units.js';
import type { StorageConnections } from '../storage/connections.js';
import { DEFAULT_CONNECTION } from '../graph/units.js';
import { effectiveGrants, isBucketGranted, type StorageGrants } from '../storage/grants.js';

export interface StorageReference {
  /** JSON pointer of the unit. */
  at: string;
  type: 'StorageSource' | 'StorageSink' | 'Watermark';
  connection: string;
  /** Whether the unit named its connection (pointers then go to `storage`, else to the unit). */
  explicitConnection: boolean;
  bucket: string;
}

export interface StorageAccessIssue {
  path: string;
  code: 'unknown_connection' | 'bucket_not_granted';
  message: string;
}

export interface StorageAccessResult {
  /** Names of connections the server does not have: the request is invalid (422). */
  unknownConnections: StorageAccessIssue[];
  /** Buckets the account may not use: the request is forbidden (403). */
  denied: StorageAccessIssue[];
}

export interface StoragePolicy {
  connections: StorageConnections;
  grants: StorageGrants;
}

function isStorageUnit(
  unit: TransformUnit,
): unit is Extract<TransformUnit, { type: StorageReference['type'] }> {
  return unit.type === 'StorageSource' || unit.type === 'StorageSink' || unit.type === 'Watermark';
}

export function storageReferences(
  graph: TransformGraph,
  base: readonly (string | number)[] = [],
): StorageReference[] {
  const found: StorageReference[] = [];
  const visit = (node: TransformGraph, path: readonly (string | number)[]) => {
    node.transformUnits.forEach((unit, index) => {
      if (!isStorageUnit(unit)) return;
      found.push({
        at: pointer([...path, 'transformUnits', index]),
        type: unit.type,
        connection: unit.storage ?? DEFAULT_CONNECTION,
        explicitConnection: unit.storage !== undefined,
        bucket: unit.bucket,
      });
    });
    node.outputs?.forEach((child, index) => visit(child, [...path, 'outputs', index]));
  };
  visit(graph, base);
  return found;
}

export function checkStorageAccess(
  graphs: readonly { graph: TransformGraph; base: readonly (string | number)[] }[],
  policy: StoragePolicy,
  accountId: string,
): StorageAccessResult {
  const grants = effectiveGrants(policy.grants, accountId);
  const result: StorageAccessResult = { unknownConnections: [], denied: [] };
  for (const { graph, base } of graphs) {
    for (const ref of storageReferences(graph, base)) {
      // Object.hasOwn: a connection named "constructor" or "__proto__" must not resolve to Object.prototype.
      if (!Object.hasOwn(policy.connections, ref.connection)) {
        result.unknownConnections.push({
          path: ref.explicitConnection ? `${ref.at}/storage` : ref.at,
          code: 'unknown_connection',
          message: `Expected a storage connection configured on this server for ${ref.type}.storage but received ${JSON.stringify(ref.connection)}`,
        });
      } else if (!isBucketGranted(grants, ref.connection, ref.bucket)) {
        result.denied.push({
          path: `${ref.at}/bucket`,
          code: 'bucket_not_granted',
          message: `Expected a bucket granted to this account on connection ${JSON.stringify(ref.connection)} for ${ref.type}.bucket but received ${JSON.stringify(ref.bucket)}`,
        });
      }
    }
  }
  return result;
}
