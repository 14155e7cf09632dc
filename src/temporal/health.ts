/**
 * The Temporal self-check of `pixelshift doctor`: the server answers, the namespace exists and
 * pixelshift's search attributes are registered in it, reported at the first step that fails.
 */
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { describeError, okFinding, problemFinding, type Finding } from '../core/health/findings.js';
import type { Config } from '../core/config.js';
import { pixelshiftSearchAttributes } from './search-attributes.js';

/** gRPC's NOT_FOUND: what describeNamespace answers for a namespace that does not exist. */
const grpcNotFound = 5;

export async function checkTemporal(
  config: Pick<Config, 'temporal'>,
  connectTimeoutMs: number,
): Promise<Finding> {
  const { address, namespace } = config.temporal;
  let connection: Connection;
  try {
    connection = await Connection.connect({
      address,
      connectTimeout: connectTimeoutMs,
      ...(config.temporal.tls ? { tls: true } : {}),
      ...(config.temporal.apiKey ? { apiKey: config.temporal.apiKey } : {}),
    });
  } catch (error) {
    return problemFinding(
      'temporal',
      'temporal_unreachable',
      `no Temporal server answers at ${address}: ${describeError(error)}`,
      'check TEMPORAL_ADDRESS (and TEMPORAL_TLS / TEMPORAL_API_KEY) and that the server is running',
    );
  }
  try {
    try {
      await connection.workflowService.describeNamespace({ namespace });
    } catch (error) {
      if (isGrpcServiceError(error) && Number(error.code) === grpcNotFound) {
        return problemFinding(
          'temporal',
          'namespace_missing',
          `the namespace ${namespace} does not exist at ${address}`,
          'run `pixelshift setup`, or correct TEMPORAL_NAMESPACE',
        );
      }
      throw error;
    }
    const listed = await connection.operatorService.listSearchAttributes({ namespace });
    const present = new Set(Object.keys(listed.customAttributes ?? {}));
    const missing = pixelshiftSearchAttributes.map((key) => key.name).filter((name) => !present.has(name));
    if (missing.length > 0) {
      return problemFinding(
        'temporal',
        'search_attributes_missing',
        `the namespace ${namespace} lacks the search attributes ${missing.join(', ')}`,
        'run `pixelshift setup` to register them',
      );
    }
    return okFinding(
      'temporal',
      `${address} answers; namespace ${namespace} has all ${pixelshiftSearchAttributes.length} search attributes`,
    );
  } catch (error) {
    return problemFinding(
      'temporal',
      'temporal_refused',
      `the Temporal server at ${address} refused the check: ${describeError(error)}`,
      'check TEMPORAL_API_KEY or the mTLS settings, and that they allow reading the namespace',
    );
  } finally {
    await connection.close();
  }
}
