import { checkStorageAccess, type StoragePolicy } from '../../core/auth/storage-access.js';
import type { TransformGraph } from '../../core/graph/graph.js';
import { ApiError } from '../../api/api-error.js';

/**
 * Refuses graphs that name a connection the server lacks (422, the request is wrong) or a bucket the
 * account was not granted (403, the request is forbidden), listing every offending unit by pointer.
 */
export function assertStorageAccess(
  graphs: readonly { graph: TransformGraph; base: readonly (string | number)[] }[],
  policy: StoragePolicy,
  accountId: string,
): void {
  const { unknownConnections, denied } = checkStorageAccess(graphs, policy, accountId);
  if (unknownConnections.length) {
    throw new ApiError(
      422,
      'invalid_graph',
      'The request names storage connections this server does not have; nothing was started',
      unknownConnections,
    );
  }
  if (denied.length) {
    throw new ApiError(
      403,
      'access_denied',
      'The request uses buckets that are not granted to this account; nothing was started',
      denied,
    );
  }
}
