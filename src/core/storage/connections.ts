import { z } from 'zod';
import { parseDuration } from '../durations.js';
import { ClassifiedError } from '../errors.js';
import { connectionNameSchema } from '../graph/units.js';
import { LocalObjectStore } from './local-store.js';
import { S3ObjectStore } from './s3-store.js';
import type { ObjectStore } from './types.js';

/**
 * S3 SDK attempts per request when a connection does not say. One: Temporal retries the whole activity,
 * visibly in its history, and waits exactly as long as the server asked (`Retry-After` becomes
 * `nextRetryDelay`); the SDK's own retries would spend the hint on an invisible, capped backoff.
 */
export const DEFAULT_S3_MAX_ATTEMPTS = 1;

export const s3ConnectionSchema = z.strictObject({
  kind: z.literal('s3'),
  endpoint: z.url().optional(),
  region: z.string().min(1),
  forcePathStyle: z.boolean().optional(),
  credentials: z
    .strictObject({
      accessKeyId: z.string().min(1),
      secretAccessKey: z.string().min(1),
      sessionToken: z.string().min(1).optional(),
    })
    .optional(),
  /** SDK attempts per request (DEFAULT_S3_MAX_ATTEMPTS when omitted); more for flaky networks. */
  maxAttempts: z.number().int().min(1).max(10).optional(),
  /** How this connection's bucket events reach the service (docs/architecture.md §10); no events without it. */
  events: z
    .strictObject({
      /** Bearer token that `POST /v1/events/s3` requires for this connection (at least 32 characters). */
      token: z.string().min(32).optional(),
      /** SQS queue URL the worker long-polls for bucket notifications. */
      sqsQueueUrl: z.url().optional(),
      /** SNS topic ARNs whose notifications `POST /v1/events/sns` accepts for this connection. */
      snsTopicArns: z
        .array(z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/))
        .optional(),
    })
    .optional(),
});

/**
 * How long a watched file must stay unchanged (size, mtime, inode) before it becomes an event. Writers
 * that pause between chunks (slow copies, uploads over a network share) must not have a half-written
 * file taken: 5 s outlasts the pauses of ordinary copies; raise it per connection for slower writers.
 */
export const DEFAULT_WATCH_SETTLE_MS = 5_000;

const settleDuration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1_000 || ms > 3_600_000) {
    ctx.addIssue({ code: 'custom', message: 'Expected a duration between 1s and 1h such as 5s or 30s' });
    return z.NEVER;
  }
  return ms;
});

export const localConnectionSchema = z.strictObject({
  kind: z.literal('local'),
  root: z.string().min(1),
  /**
   * Turn new files under `<root>/<bucket>/` into ObjectCreated events (the embedded default does):
   * `true`, or `{ "settle": "10s" }` to wait longer than DEFAULT_WATCH_SETTLE_MS for files to settle.
   */
  watch: z.union([z.boolean(), z.strictObject({ settle: settleDuration.optional() })]).optional(),
});

/** The watcher settings of a local connection; undefined when it is not watched. */
export function localWatchSettings(connection: LocalConnection): { settleMs: number } | undefined {
  const { watch } = connection;
  if (watch === undefined || watch === false) return undefined;
  return { settleMs: (watch === true ? undefined : watch.settle) ?? DEFAULT_WATCH_SETTLE_MS };
}

export const storageConnectionSchema = z.discriminatedUnion('kind', [
  s3ConnectionSchema,
  localConnectionSchema,
]);
export const storageConnectionsSchema = z.record(connectionNameSchema, storageConnectionSchema);

export type S3Connection = z.infer<typeof s3ConnectionSchema>;
export type LocalConnection = z.infer<typeof localConnectionSchema>;
export type StorageConnection = z.infer<typeof storageConnectionSchema>;
export type StorageConnections = z.infer<typeof storageConnectionsSchema>;

export interface StoreRegistry {
  /** The store for a connection name; unknown names are a graph error (invalid_graph). */
  get(name: string): ObjectStore;
  has(name: string): boolean;
  names(): string[];
  /** Releases S3 client sockets; call on shutdown. */
  destroy(): void;
}

function createObjectStore(connection: StorageConnection): ObjectStore {
  switch (connection.kind) {
    case 's3':
      return new S3ObjectStore({
        region: connection.region,
        ...(connection.endpoint === undefined ? {} : { endpoint: connection.endpoint }),
        ...(connection.forcePathStyle === undefined ? {} : { forcePathStyle: connection.forcePathStyle }),
        ...(connection.credentials === undefined ? {} : { credentials: connection.credentials }),
        maxAttempts: connection.maxAttempts ?? DEFAULT_S3_MAX_ATTEMPTS,
      });
    case 'local':
      return new LocalObjectStore(connection.root);
  }
}

/** Builds one store per configured connection (config is validated at start-up, not here). */
export function createObjectStores(connections: StorageConnections): StoreRegistry {
  // A Map, not the config object, so names like `constructor` can never resolve to a prototype member.
  const stores = new Map<string, ObjectStore>(
    Object.entries(connections).map(([name, connection]) => [name, createObjectStore(connection)]),
  );
  return {
    get(name) {
      const store = stores.get(name);
      if (!store)
        throw new ClassifiedError('invalid_graph', `Unknown storage connection ${JSON.stringify(name)}`);
      return store;
    },
    has: (name) => stores.has(name),
    names: () => [...stores.keys()],
    destroy() {
      for (const store of stores.values()) if (store instanceof S3ObjectStore) store.destroy();
    },
  };
}
