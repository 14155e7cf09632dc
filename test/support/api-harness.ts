import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
// Checks every response of the app against its document (also when this file runs on its own).
import './response-contract.js';
import { issueAccessToken } from '../../src/core/auth/access-tokens.js';
import { createApiKey } from '../../src/db/api-key-credentials.js';
import { createKeyStatusCache } from '../../src/api/key-status.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import { ensureAccount, type Db } from '../../src/db/index.js';
import { createApp, type AppDeps } from '../../src/app/http-app.js';
import { FakeOrchestrator } from './fake-orchestrator.js';
import { databaseTargets, openMigrated, type DatabaseTarget, type TestDatabase } from './test-databases.js';

export const TEST_UI_URL = 'http://temporal-ui.test:8233';

export interface TestApi {
  app: Express;
  db: Db;
  database: TestDatabase;
  orchestrator: FakeOrchestrator;
  config: Config;
  jwtSecret: Uint8Array;
  close(): Promise<void>;
}

export interface TestApiOptions {
  target?: DatabaseTarget;
  env?: Record<string, string>;
  /** How long the API trusts a key's status before asking the database again. */
  keyStatusTtlMs?: number;
  /** Object stores the app uses (event ingress HEADs objects), e.g. `storesOf(new MemoryStore())`. */
  stores?: AppDeps['stores'];
  /** Timings and bounds of live progress streams. */
  streams?: AppDeps['streams'];
  /** The clock of dashboard sessions and sign-in limits. */
  now?: AppDeps['now'];
}

/**
 * The real app over a migrated database (PGlite unless a target is given) and a fake orchestrator.
 * Storage: connections `default` and `archive`; every account is granted `photos` and `shared-*` on
 * `default`; tests add per-account grants through `config.storage.grants`.
 */
export async function createTestApi(options: TestApiOptions = {}): Promise<TestApi> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pixelshift-api-'));
  const config = loadConfig({
    PIXELSHIFT_DATA_DIR: dataDir,
    PIXELSHIFT_JWT_SECRET: randomBytes(32).toString('base64url'),
    TEMPORAL_UI_URL: TEST_UI_URL,
    PIXELSHIFT_MAX_BODY_BYTES: String(1024 * 1024),
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  config.storage = {
    connections: {
      default: { kind: 'local', root: path.join(dataDir, 'storage') },
      archive: { kind: 'local', root: path.join(dataDir, 'archive') },
    },
    grants: { '*': [{ connection: 'default', buckets: ['photos', 'shared-*'] }] },
  };
  const database = await openMigrated(options.target ?? databaseTargets()[0]!);
  const orchestrator = new FakeOrchestrator(config.temporal.uiUrl);
  const jwtSecret = new TextEncoder().encode(config.auth.jwtSecret);
  const keyStatus =
    options.keyStatusTtlMs === undefined
      ? undefined
      : createKeyStatusCache(database.db, { ttlMs: options.keyStatusTtlMs });
  const app = createApp({
    db: database.db,
    progressChanges: database.progressChanges,
    orchestrator,
    config,
    jwtSecret,
    keyStatus,
    stores: options.stores,
    streams: options.streams,
    now: options.now,
  });
  return {
    app,
    db: database.db,
    database,
    orchestrator,
    config,
    jwtSecret,
    async close() {
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestAccount {
  accountId: string;
  keyId: string;
  secret: string;
  /** A valid access token for the account, issued directly (the token endpoint has its own tests). */
  token: string;
  auth: { Authorization: string };
}

/** A new account (unique id, so tests sharing one database stay apart) with one key pair and a token. */
export async function createTestAccount(api: TestApi, prefix = 'acct'): Promise<TestAccount> {
  const accountId = `${prefix}-${randomBytes(4).toString('hex')}`;
  await ensureAccount(api.db, { id: accountId, name: `Test ${accountId}` });
  const { keyId, secret } = await createApiKey(api.db, accountId, 'test');
  const { accessToken } = await issueAccessToken(
    { accountId, keyId },
    { secret: api.jwtSecret, ttlSeconds: api.config.auth.tokenTtlSeconds },
  );
  return { accountId, keyId, secret, token: accessToken, auth: { Authorization: `Bearer ${accessToken}` } };
}

/** A valid graph: source → resize → webp → sink, on the granted `photos` bucket. */
export function validGraph(key = 'in/cat.jpg', outKey = 'out/cat.webp'): Record<string, unknown> {
  return {
    transformUnits: [
      { type: 'StorageSource', bucket: 'photos', key },
      { type: 'Resize', width: 320 },
      { type: 'ImageFormat', format: 'webp', quality: 80 },
      { type: 'StorageSink', bucket: 'photos', key: outKey },
    ],
  };
}
