/**
 * The OpenAPI document as the server serves it, rendered without a running server: what the SDK's types
 * (packages/client/src/generated/types.ts) are generated from. It is rendered for a server with no
 * storage connections configured, so connection names stay free strings instead of one deployment's enum.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { OpenApiDocument } from '../api/openapi-builder.js';
import { loadConfig } from '../core/config.js';
import type { JobEngine } from '../core/jobs/orchestrator-ports.js';
import { pgliteDatabase } from '../db/database.js';
import { createApp, openApiDocumentOf } from './http-app.js';

/** Rendering the document serves no request: any call into the engine is a bug, so it says so. */
const noEngine = new Proxy({} as JobEngine, {
  get: (_target, name) => () => {
    throw new Error(`the job engine is not available while rendering the OpenAPI document (${String(name)})`);
  },
});

export async function renderServedOpenApiDocument(): Promise<OpenApiDocument> {
  const config = loadConfig({
    PIXELSHIFT_DATA_DIR: path.join(os.tmpdir(), 'pixelshift-openapi-document'),
    LOG_LEVEL: 'silent',
  });
  config.storage = { connections: {}, grants: {} };
  // An in-memory database that is never queried: the app only needs one to be built.
  const database = pgliteDatabase(new PGlite());
  try {
    const app = createApp({ db: database.db, orchestrator: noEngine, config, jwtSecret: randomBytes(32) });
    return structuredClone(openApiDocumentOf(app));
  } finally {
    await database.close();
  }
}
