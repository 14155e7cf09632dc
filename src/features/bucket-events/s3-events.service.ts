/**
 * `POST /v1/events/s3` (docs/architecture.md §10): a bucket's event body, authenticated by its connection's token, turned
 * into graph runs. The answer is 2xx only after every run is durably started, so any failure makes the
 * sender deliver again; redeliveries start nothing twice (the workflow ID is the upload's identity).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../../core/config.js';
import { isBucketGrantedToAnyone } from './bucket-event-ingest.js';
import { parseS3EventBody } from '../../core/triggers/s3-event-records.js';
import type { EventIngest } from '../../core/triggers/trigger-types.js';
import { ApiError } from '../../api/api-error.js';
import type { S3EventResult } from './s3-events.schemas.js';
import { runStatusUrl } from '../runs/runs.service.js';

export interface S3EventDeps {
  config: Pick<Config, 'storage' | 'http'>;
  ingest: EventIngest;
  logger?: Logger | undefined;
}

/** RFC 6750 §3: no error attribute when no credentials were sent, `invalid_token` when they were wrong. */
const challenge = { 'WWW-Authenticate': 'Bearer realm="pixelshift-events"' };
const invalidTokenChallenge = {
  'WWW-Authenticate': 'Bearer realm="pixelshift-events", error="invalid_token"',
};

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * The connection whose `events.token` the request carries. Every configured token is compared (in
 * constant time, over SHA-256 digests so lengths do not matter), so timing reveals neither which
 * connection nor how much of a token was right.
 */
export function connectionForEventToken(
  config: Pick<Config, 'storage'>,
  authorization: string | undefined,
): string {
  const match = authorization === undefined ? null : /^Bearer +(\S{1,1024}) *$/i.exec(authorization);
  if (!match?.[1]) {
    throw new ApiError(
      401,
      'invalid_event_token',
      'An event token is required: Authorization: Bearer <token>',
      undefined,
      challenge,
    );
  }
  const presented = sha256(match[1]);
  let found: string | undefined;
  for (const [name, connection] of Object.entries(config.storage.connections)) {
    const token = connection.kind === 's3' ? connection.events?.token : undefined;
    if (token === undefined) continue;
    if (timingSafeEqual(presented, sha256(token)) && found === undefined) found = name;
  }
  if (found === undefined) {
    throw new ApiError(
      401,
      'invalid_event_token',
      'The event token is not valid for any connection',
      undefined,
      invalidTokenChallenge,
    );
  }
  return found;
}

export async function receiveS3Events(
  deps: S3EventDeps,
  connection: string,
  body: unknown,
): Promise<{ test: true } | S3EventResult> {
  const parsed = parseS3EventBody(body, connection);
  if (parsed.kind === 'test') return { test: true };
  if (parsed.kind === 'invalid') throw new ApiError(400, parsed.code, parsed.message, parsed.issues);

  // Checked for the whole body before anything starts: a bucket nobody holds is a misdirected sender.
  const refused = [...new Set(parsed.events.map((event) => event.bucket))].filter(
    (bucket) => !isBucketGrantedToAnyone(deps.config.storage.grants, connection, bucket),
  );
  if (refused.length) {
    throw new ApiError(
      403,
      'access_denied',
      'The body names buckets that no account is granted on this connection; nothing was started',
      refused.slice(0, 20).map((bucket) => ({
        path: '',
        code: 'bucket_not_granted',
        message: `Expected a bucket granted to an account on connection ${JSON.stringify(connection)} but received ${JSON.stringify(bucket)}`,
      })),
    );
  }

  let result;
  try {
    result = await deps.ingest.ingest(parsed.events);
  } catch (error) {
    deps.logger?.error({ err: error, connection }, 'bucket events could not be ingested');
    throw new ApiError(
      503,
      'orchestrator_unavailable',
      'The events could not all be started: the job engine or the storage is unavailable; deliver them again later',
      undefined,
      { 'Retry-After': '1' },
    );
  }
  return {
    events: result.events,
    ignored: parsed.ignored,
    started: result.started,
    duplicates: result.duplicates,
    unmatched: result.unmatched,
    skipped: result.skipped,
    invalid: result.invalid,
    runs: result.workflowIds.map((workflowId) => ({
      workflowId,
      statusUrl: runStatusUrl(deps.config, workflowId),
    })),
  };
}
