/**
 * The whole service for end-to-end tests: the real app listening on loopback, the real Temporal
 * orchestrator and workers on the suite's dev server, S3 connections to the suite's moto server, and a
 * database (PGlite in-process, or the PostgreSQL server when a worker runs in another process).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Registry } from 'prom-client';
import { createApiKey } from '../../src/db/api-key-credentials.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import { ensureAccount, migrate, openDatabase, type Database } from '../../src/db/index.js';
import { createApp, openApiDocumentOf } from '../../src/app/http-app.js';
import { startHttpServer, type HttpServer } from '../../src/api/http-server.js';
import { TemporalJobEngine } from '../../src/temporal/client/temporal-orchestrator.js';
import { TemporalDeliveryStarter } from '../../src/temporal/client/delivery-starter.js';
import { createObjectStores } from '../../src/core/storage/connections.js';
import { createWorkers, type RunningWorkers } from '../../src/temporal/worker/worker.js';
import { activityDeps } from '../../src/app/wiring.js';
import type { BatchStatus } from '../../src/core/jobs/job-status.js';
import type { ReconcileSummary } from '../../src/temporal/client/reconcile.js';
import { fixturePath } from './fixtures.js';
import { contractViolation } from './response-contract.js';
import { createTestBucket, testS3Client, testS3Credentials, testS3Region } from './s3-buckets.js';
import { s3Endpoint } from './services.js';
import { temporalForTests } from './temporal.js';

export interface Stack {
  config: Config;
  /** Environment that makes `pixelshift worker` in another process join this stack. */
  workerEnv: NodeJS.ProcessEnv;
  database: Database;
  server: HttpServer;
  orchestrator: TemporalJobEngine;
  temporal: Awaited<ReturnType<typeof temporalForTests>>;
  s3: ReturnType<typeof testS3Client>;
  buckets: { input: string; output: string };
  account: { accountId: string; keyId: string; secret: string };
  workers: RunningWorkers | undefined;
  /** Another account with its own key, granted the same two buckets; `api` calls as that account. */
  addAccount(label: string): Promise<{ accountId: string; token(): Promise<string>; api: Stack['api'] }>;
  startWorkers(): Promise<RunningWorkers>;
  uploadFixture(file: string, key?: string): Promise<string>;
  readObject(bucket: string, key: string): Promise<Buffer>;
  /** An object's ETag (unquoted) and user metadata, as S3 returns them on HEAD. */
  headObject(bucket: string, key: string): Promise<{ etag: string; metadata: Record<string, string> }>;
  token(): Promise<string>;
  /** The API's OpenAPI document, to check answers of other processes serving the same API. */
  openApiDocument: Record<string, unknown>;
  api(
    pathname: string,
    init?: RequestInit & { token?: string },
  ): Promise<{ status: number; body: unknown; headers: Headers }>;
  waitForBatch(batchId: string, timeoutMs?: number): Promise<BatchStatus>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** PostgreSQL URL; PGlite in-process when omitted (then workers must run in this process). */
  databaseUrl?: string;
  inProcessWorkers?: boolean;
  /** A Temporal server of the test's own (e.g. one it restarts); the suite's shared one by default. */
  temporalAddress?: string;
  /** Where the `default` connection sends S3 requests (a fault-injecting proxy); moto by default. */
  s3Endpoint?: string;
  /** Extra environment for the config (e.g. PIXELSHIFT_THROTTLE_WINDOW). */
  env?: Record<string, string>;
  /** `events.token` of the `default` connection: enables POST /v1/events/s3 for its buckets. */
  eventsToken?: string;
  /** Delays between webhook delivery attempts, as configured (short, so retries happen within a test). */
  webhookRetryScheduleMs?: number[];
  /** Where the in-process workers count what they do (a worker's /metrics); their own registry otherwise. */
  workerMetrics?: Registry;
}

/** Ten attempts within about 12 s: long enough to outlast a worker restart, short enough for a test. */
export const testWebhookRetryScheduleMs = [300, 500, 800, 1000, 1500, 1500, 2000, 2000, 2000];

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const endpoint = await s3Endpoint();
  const temporal = await temporalForTests(options.temporalAddress);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pixelshift-e2e-'));
  const accountId = `e2e-${randomBytes(3).toString('hex')}`;
  const input = await createTestBucket(endpoint, 'e2e-in');
  const output = await createTestBucket(endpoint, 'e2e-out');
  const storageFile = path.join(dataDir, 'storage.json');
  writeFileSync(
    storageFile,
    JSON.stringify({
      connections: {
        default: {
          kind: 's3',
          endpoint: options.s3Endpoint ?? endpoint,
          region: testS3Region,
          forcePathStyle: true,
          // Written out: the SDK decorates credential objects it has used ($source), which strict config refuses.
          credentials: {
            accessKeyId: testS3Credentials.accessKeyId,
            secretAccessKey: testS3Credentials.secretAccessKey,
          },
          ...(options.eventsToken ? { events: { token: options.eventsToken } } : {}),
        },
      },
      grants: { [accountId]: [{ connection: 'default', buckets: [input, output] }] },
    }),
  );
  const prefix = temporal.taskQueues.orchestration.replace(/-orchestration$/, '');
  const env: NodeJS.ProcessEnv = {
    PIXELSHIFT_DATA_DIR: dataDir,
    PIXELSHIFT_CONFIG: storageFile,
    PIXELSHIFT_JWT_SECRET: randomBytes(32).toString('base64url'),
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_UI_URL: 'http://127.0.0.1:8233',
    PIXELSHIFT_TASK_QUEUE_PREFIX: prefix,
    PIXELSHIFT_IMAGING_SLOTS: '2',
    LOG_LEVEL: 'silent',
    PIXELSHIFT_WEBHOOK_RETRY_SCHEDULE: (options.webhookRetryScheduleMs ?? testWebhookRetryScheduleMs)
      .map((ms) => `${ms}ms`)
      .join(','),
    // Webhook receivers in tests listen on loopback, which the SSRF guard refuses unless allow-listed.
    PIXELSHIFT_OUTBOUND_ALLOW: '127.0.0.1',
    HOST: '127.0.0.1',
    PORT: '0',
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...options.env,
  };
  const config = loadConfig(env);
  const database = await openDatabase(config.database);
  await migrate(database.db);
  await ensureAccount(database.db, { id: accountId, name: accountId });
  const key = await createApiKey(database.db, accountId, 'e2e');

  const orchestrator = new TemporalJobEngine(temporal.client, config);
  const stores = createObjectStores(config.storage.connections);
  const app = createApp({
    db: database.db,
    progressChanges: database.progressChanges,
    orchestrator,
    config,
    jwtSecret: new TextEncoder().encode(config.auth.jwtSecret),
    stores,
    deliveries: new TemporalDeliveryStarter(temporal.client, config),
  });
  const server = await startHttpServer(app, config.http);
  const document = openApiDocumentOf(app) as unknown as Record<string, unknown>;
  const s3 = testS3Client(endpoint);

  const stack: Stack = {
    config,
    workerEnv: { ...process.env, ...env, LOG_LEVEL: 'warn' },
    database,
    server,
    orchestrator,
    temporal,
    s3,
    buckets: { input, output },
    account: { accountId, keyId: key.keyId, secret: key.secret },
    workers: undefined,
    async startWorkers() {
      const deps = await activityDeps(config, database, stores, options.workerMetrics);
      deps.webhooks = { ...deps.webhooks, attemptTimeoutMs: 5_000 };
      const workers = await createWorkers({
        config,
        deps,
        bundle: temporal.bundle,
        connection: temporal.nativeConnection,
        shutdownGraceTime: '2 seconds',
      });
      void workers.run();
      stack.workers = workers;
      return workers;
    },
    async uploadFixture(file, key = `in/${file}`) {
      await s3.send(new PutObjectCommand({ Bucket: input, Key: key, Body: readFileSync(fixturePath(file)) }));
      return key;
    },
    async readObject(bucket, key) {
      const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await response.Body!.transformToByteArray());
    },
    async headObject(bucket, key) {
      const response = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { etag: (response.ETag ?? '').replaceAll('"', ''), metadata: response.Metadata ?? {} };
    },
    token: () => exchangeToken(server.url, key.keyId, key.secret),
    openApiDocument: document,
    api: (pathname, init = {}) => callApi(server.url, () => stack.token(), pathname, init, document),
    async addAccount(label) {
      const id = `${label}-${randomBytes(3).toString('hex')}`;
      await ensureAccount(database.db, { id, name: id });
      const extra = await createApiKey(database.db, id, 'e2e');
      config.storage.grants[id] = [{ connection: 'default', buckets: [input, output] }];
      const token = () => exchangeToken(server.url, extra.keyId, extra.secret);
      return {
        accountId: id,
        token,
        api: (pathname, init = {}) => callApi(server.url, token, pathname, init, document),
      };
    },
    async waitForBatch(batchId, timeoutMs = 120_000) {
      const token = await stack.token();
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { status, body } = await stack.api(`/v1/batches/${batchId}`, { token });
        const batch = body as BatchStatus;
        if (status === 200 && batch.state !== 'running') {
          return readBatch((pathname) => stack.api(pathname, { token }), batchId);
        }
        if (Date.now() > deadline)
          throw new Error(`batch ${batchId} still ${batch.state} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    async close() {
      await stack.workers?.shutdown();
      await server.close();
      stores.destroy();
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  if (options.inProcessWorkers !== false) await stack.startWorkers();
  return stack;
}

export async function exchangeToken(baseUrl: string, keyId: string, secret: string): Promise<string> {
  const response = await fetch(`${baseUrl}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(keyId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  const body = (await response.json()) as { access_token: string };
  return body.access_token;
}

/**
 * A batch's status with all its graphs, paged as a client pages them (`GET /v1/batches/{id}/graphs`): the
 * shape e2e tests assert on. Throws when the status is not 200.
 */
export async function readBatch(
  call: (pathname: string) => Promise<{ status: number; body: unknown }>,
  batchId: string,
): Promise<BatchStatus> {
  const status = await call(`/v1/batches/${batchId}`);
  if (status.status !== 200)
    throw new Error(`batch ${batchId}: ${status.status} ${JSON.stringify(status.body)}`);
  const graphs: BatchStatus['graphs'] = [];
  let pageToken: string | undefined;
  do {
    const query = `pageSize=1000${pageToken ? `&pageToken=${pageToken}` : ''}`;
    const page = await call(`/v1/batches/${batchId}/graphs?${query}`);
    if (page.status !== 200)
      throw new Error(`graphs of ${batchId}: ${page.status} ${JSON.stringify(page.body)}`);
    const body = page.body as { graphs: BatchStatus['graphs']; nextPageToken?: string };
    graphs.push(...body.graphs);
    pageToken = body.nextPageToken;
  } while (pageToken);
  return { ...(status.body as Omit<BatchStatus, 'graphs'>), graphs };
}

/**
 * One API call with the account's token. Given the app's OpenAPI document, the answer is checked against it
 * as supertest's answers are (test/support/response-contract.ts): an undocumented status, media type or
 * body throws.
 */
export async function callApi(
  baseUrl: string,
  token: () => Promise<string>,
  pathname: string,
  init: RequestInit & { token?: string },
  document?: Record<string, unknown>,
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${init.token ?? (await token())}`);
  if (init.body) headers.set('content-type', 'application/json');
  const response = await fetch(`${baseUrl}${pathname}`, { ...init, headers });
  const text = await response.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (document) assertDocumented(document, init.method ?? 'GET', pathname, response, text);
  return { status: response.status, body, headers: response.headers };
}

/**
 * Throws when a fetched answer breaks the OpenAPI document, as supertest's answers do
 * (test/support/response-contract.ts). `text` is the body already read: JSON is parsed from it, and a
 * binary body (an image) is given as ''.
 */
export function assertDocumented(
  document: Record<string, unknown>,
  method: string,
  pathname: string,
  response: Pick<Response, 'status' | 'headers'>,
  text: string,
): void {
  const contentType = response.headers.get('content-type') ?? '';
  const violation = contractViolation(document, method, pathname, {
    status: response.status,
    headers: { 'content-type': contentType },
    body: text && contentType.startsWith('application/json') ? (JSON.parse(text) as unknown) : undefined,
    text,
  });
  if (violation) throw new Error(`The response breaks the OpenAPI document: ${violation}`);
}

/** Runs the real `pixelshift reconcile` in its own process against the stack, and returns its summary. */
export async function runReconcileCommand(
  stack: Pick<Stack, 'workerEnv'>,
  args: string[],
): Promise<ReconcileSummary> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'src/app/main.ts', 'reconcile', ...args],
    { env: stack.workerEnv },
  );
  return JSON.parse(stdout) as ReconcileSummary;
}

/**
 * A status without its times: after a reconcile they come from Temporal's history, not from the clock of the
 * writes a restore lost, so the same story in the same order compares equal, not the same milliseconds.
 */
export function withoutTimes(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value), (key, field: unknown) =>
    key === 'startedAt' || key === 'finishedAt' ? undefined : field,
  ) as unknown;
}
