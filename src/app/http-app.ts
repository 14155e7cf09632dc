/**
 * The Express application (docs/architecture.md §8). A factory with no `listen` inside: tests mount it with supertest,
 * `startHttpServer` (src/api/http-server.ts) serves it. Routes stay thin — validate, call one use-case, shape the
 * response — and one error middleware renders every failure.
 */
import express, { type Express, type RequestHandler } from 'express';
import { accountFeature } from '../features/account/account.routes.js';
import { batchesFeature } from '../features/batches/batches.routes.js';
import { docsFeature, swaggerUiPages } from '../api/docs-routes.js';
import { graphsFeature } from '../features/graphs/graphs.routes.js';
import { inboundHooksFeature } from '../features/inbound-hooks/inbound-hooks.routes.js';
import { keysFeature } from '../features/keys/keys.routes.js';
import { oauthFeature } from '../features/oauth/oauth.routes.js';
import { operationsFeature } from '../features/operations/operations.routes.js';
import type { ApiFeature } from '../api/define-route.js';
import { mountRoutes } from '../api/mount-routes.js';
import { buildOpenApiDocument, type OpenApiDocument } from '../api/openapi-builder.js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createKeyStatusCache, type KeyStatusCache } from '../api/key-status.js';
import type { Config } from '../core/config.js';
import { pingDatabase, type Db } from '../db/database.js';
import type { JobEngine } from '../core/jobs/orchestrator-ports.js';
import { requireBearer } from '../api/bearer.js';
import { requireAccount, type SessionSettings } from '../api/session-auth.js';
import { dashboardSessionFeature } from '../features/dashboard-session/dashboard-session.routes.js';
import { errorHandler, notFoundHandler } from '../api/error-handler.js';
import { createHttpMetrics } from '../api/metrics.js';
import { rulesFeature } from '../features/rules/rules.routes.js';
import { runsFeature } from '../features/runs/runs.routes.js';
import { s3EventsFeature } from '../features/bucket-events/s3-events.routes.js';
import { createObjectStores, type StoreRegistry } from '../core/storage/connections.js';
import { createEventIngest } from '../features/bucket-events/bucket-event-ingest.js';
import { countedIngest, triggerEventMetrics } from '../features/bucket-events/event-metrics.js';
import { snsEventsFeature, type SnsRouteDeps } from '../features/bucket-events/sns-events.routes.js';
import { parseBucketNotification } from '../core/triggers/bucket-notification.js';
import { createCertificateFetcher, createSubscriptionConfirmer } from '../core/triggers/sns-messages.js';
import { webhooksFeature } from '../features/webhooks/webhooks.routes.js';
import { liveProgressFeature } from '../features/live-progress/progress.routes.js';
import { createProgressHub, type ProgressHubOptions } from '../features/live-progress/progress-hub.js';
import { onServerClose } from '../api/http-server.js';
import type { DeliveryStarter } from '../core/jobs/orchestrator-ports.js';
import { loadOrCreateSecretsKey, type SecretsKey } from '../core/auth/secret-box.js';
import { defaultDashboardDist } from './dashboard-assets.js';
import { dashboardRoutes } from './dashboard-routes.js';

export interface AppDeps {
  db: Db;
  orchestrator: JobEngine;
  config: Config;
  /** HMAC key of access tokens: `await loadOrCreateJwtSecret(config)`. */
  jwtSecret: Uint8Array;
  logger?: Logger | undefined;
  /** Where /metrics collects from; a fresh registry per app by default. */
  metricsRegistry?: Registry | undefined;
  /** Shared with other components that revoke keys; one per app by default. */
  keyStatus?: KeyStatusCache | undefined;
  /** Opens sealed hook secrets: `await loadOrCreateSecretsKey(config)`; loaded on first use when absent. */
  secretsKey?: SecretsKey | undefined;
  /** Object stores by connection (event ingress HEADs objects); built from config on first use when omitted. */
  stores?: Pick<StoreRegistry, 'get'> | undefined;
  /** Replaces parts of the SNS ingress (tests: a certificate fetcher and confirmer of their own, a fake ingest). */
  sns?: Partial<SnsRouteDeps> | undefined;
  /** Starts webhook redeliveries (the Temporal client in production); redeliver answers 503 without it. */
  deliveries?: DeliveryStarter | undefined;
  /** Wakes the live progress streams when the change log moves (`database.progressChanges`); else they poll. */
  progressChanges?: ProgressHubOptions['changes'];
  /** Timings and bounds of the live progress streams (tests shorten them); the limit per account is config. */
  streams?: Pick<ProgressHubOptions, 'pollMs' | 'wakeGapMs' | 'heartbeatMs' | 'maxBufferedBytes'> | undefined;
  /**
   * The built dashboard served at /dashboard/ (default dashboard/dist; `ensureDashboardBuilt` builds it).
   * Until a build is there, /dashboard/ answers 503.
   */
  dashboardDir?: string | undefined;
  /** The clock of dashboard session expiries and sign-in windows (tests move it); the system clock by default. */
  now?: (() => Date) | undefined;
}

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set('X-Content-Type-Options', 'nosniff');
  next();
};

export function createApp(deps: AppDeps): Express {
  const { config, logger } = deps;
  const keyStatus = deps.keyStatus ?? createKeyStatusCache(deps.db);
  const metrics = createHttpMetrics(deps.metricsRegistry);
  const app = express();
  app.disable('x-powered-by');
  // Whom to believe about the client's address (sign-in limits) and scheme (the cookie's Secure).
  app.set('trust proxy', config.http.trustProxy);
  app.use(metrics.middleware, securityHeaders);

  // Bucket events (S3 posts and SNS messages) start runs through one ingest.
  let ownStores: StoreRegistry | undefined;
  const stores = deps.stores ?? {
    get: (name: string) => (ownStores ??= createObjectStores(config.storage.connections)).get(name),
  };
  const eventIngest = createEventIngest({
    db: deps.db,
    orchestrator: deps.orchestrator,
    stores,
    storage: config.storage,
    logger,
  });
  const triggerEvents = triggerEventMetrics(metrics.registry);

  // One poll loop for every live progress stream of this app; the server's close ends them.
  const progressHub = createProgressHub({
    db: deps.db,
    maxStreamsPerAccount: config.http.maxStreamsPerAccount,
    changes: deps.progressChanges,
    logger,
    ...deps.streams,
  });
  onServerClose(app, () => progressHub.close());

  // Opens sealed hook and webhook secrets; loaded once, on first use.
  const secretsKey = lazySecretsKey(config, deps.secretsKey);
  const sessions: SessionSettings = {
    idleMs: config.dashboard.sessionIdleMs,
    maxAgeMs: config.dashboard.sessionMaxAgeMs,
    publicUrl: config.http.publicUrl,
    now: deps.now ?? (() => new Date()),
  };
  // One line per feature: its routes are mounted and documented from the same definitions.
  const features: ApiFeature[] = [
    operationsFeature({
      ping: () => pingDatabase(deps.db),
      orchestrator: deps.orchestrator,
      logger,
      registry: metrics.registry,
    }),
    docsFeature(() => document),
    oauthFeature({ db: deps.db, jwtSecret: deps.jwtSecret, tokenTtlSeconds: config.auth.tokenTtlSeconds }),
    dashboardSessionFeature({
      db: deps.db,
      sessions,
      limits: {
        windowMs: config.dashboard.signInWindowMs,
        perEmail: config.dashboard.signInFailuresPerEmail,
        perAddress: config.dashboard.signInFailuresPerAddress,
      },
    }),
    batchesFeature({ db: deps.db, orchestrator: deps.orchestrator, config, stores, logger }),
    graphsFeature({ config }),
    keysFeature({ db: deps.db, keyStatus }),
    accountFeature({ db: deps.db, orchestrator: deps.orchestrator, config, logger }),
    inboundHooksFeature({
      db: deps.db,
      orchestrator: deps.orchestrator,
      config,
      secretsKey,
      logger,
      events: triggerEvents,
    }),
    webhooksFeature({
      db: deps.db,
      config,
      secretsKey,
      deliveries: deps.deliveries,
      uiUrl: (workflowId) => deps.orchestrator.uiUrl(workflowId),
    }),
    s3EventsFeature({
      config,
      ingest: countedIngest(eventIngest, 's3', triggerEvents),
      logger,
      registry: metrics.registry,
    }),
    snsEventsFeature({
      db: deps.db,
      connections: config.storage.connections,
      logger,
      ingest: countedIngest(eventIngest, 'sns', triggerEvents),
      parse: parseBucketNotification,
      fetchCertificate: createCertificateFetcher(),
      confirmSubscription: createSubscriptionConfirmer(),
      ...deps.sns,
    }),
    rulesFeature({ db: deps.db, config }),
    runsFeature({ db: deps.db, orchestrator: deps.orchestrator, config }),
    liveProgressFeature({ db: deps.db, hub: progressHub }),
  ];
  const document = buildOpenApiDocument(features, {
    publicUrl: config.http.publicUrl,
    connectionNames: Object.keys(config.storage.connections),
  });
  app.locals.openApiDocument = document;
  mountRoutes(
    app,
    features.flatMap((feature) => feature.routes),
    {
      maxBodyBytes: config.http.maxBodyBytes,
      // Everything under /v1 needs a token or a dashboard session — unknown /v1 paths included, so they
      // reveal nothing either.
      requireAccount: requireAccount({
        db: deps.db,
        bearer: requireBearer({ jwtSecret: deps.jwtSecret, keyStatus }),
        sessions,
      }),
    },
  );

  app.use(swaggerUiPages());
  app.use(dashboardRoutes(deps.dashboardDir ?? defaultDashboardDist));

  app.use(notFoundHandler);
  app.use(errorHandler(logger, config.http.maxBodyBytes));
  return app;
}

/** The OpenAPI document an app serves (built from the routes it mounts). */
export function openApiDocumentOf(app: Express): OpenApiDocument {
  return app.locals.openApiDocument as OpenApiDocument;
}

/** The given key, or the configured/generated one loaded on first use. */
function lazySecretsKey(config: Config, given: SecretsKey | undefined): () => Promise<SecretsKey> {
  let key: Promise<SecretsKey> | undefined = given ? Promise.resolve(given) : undefined;
  return () => (key ??= loadOrCreateSecretsKey(config));
}
