/**
 * Server configuration: environment variables (and an optional JSON file for storage connections and
 * grants), parsed once at start-up. A bad value stops start-up with a message naming the variable.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseDuration } from './durations.js';
import { DEFAULT_CONNECTION, limits } from './graph/units.js';
import { createAddressPolicy } from './net/address-policy.js';
import { storageConnectionsSchema } from './storage/connections.js';
import { storageGrantsSchema } from './storage/grants.js';
import { defaultRetryScheduleMs } from './webhooks/webhook-retry.js';
import type { BatchGraphsAs } from './jobs/job-status.js';

const booleanText = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');
const positiveInt = z.coerce.number().int().positive();

export { parseDuration };

const throttleWindow = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1_000 || ms > 7 * 86_400_000) {
    ctx.addIssue({
      code: 'custom',
      message: 'Expected a duration between 1s and 7d such as 1h, 10s or 3000ms',
    });
    return z.NEVER;
  }
  return ms;
});

/** `5s,30s,2m`: the delays between webhook delivery attempts, each from 10 ms to 1 day, at most 100. */
const retrySchedule = z.string().transform((text, ctx) => {
  const delays = text.split(',').map((part) => parseDuration(part));
  const valid = delays.every((ms) => ms !== undefined && ms >= 10 && ms <= 86_400_000);
  if (!valid || delays.length > 100) {
    ctx.addIssue({
      code: 'custom',
      message: 'Expected up to 100 comma-separated durations from 10ms to 1d, such as 5s,30s,2m',
    });
    return z.NEVER;
  }
  return delays as number[];
});

/** Up to 1h: past that, an orchestrator (Kubernetes' grace period) will have killed the process anyway. */
const workerDrain = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined || ms > 3_600_000) {
    ctx.addIssue({ code: 'custom', message: 'Expected a duration up to 1h such as 30s or 2m' });
    return z.NEVER;
  }
  return ms;
});

/** `host:port` (`0.0.0.0:9464`, `[::]:9464`, `127.0.0.1:0` for any free port) where a worker serves /metrics. */
const listenAddress = z
  .string()
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/, 'Expected host:port such as 0.0.0.0:9464')
  .refine((text) => Number(text.slice(text.lastIndexOf(':') + 1)) <= 65535, 'Expected a port up to 65535');
/** A duration from 1 minute to 365 days (dashboard session lifetimes, the sign-in failure window). */
const sessionDuration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 60_000 || ms > 365 * 86_400_000) {
    ctx.addIssue({
      code: 'custom',
      message: 'Expected a duration between 1m and 365d such as 15m, 12h or 7d',
    });
    return z.NEVER;
  }
  return ms;
});

/**
 * Express's `trust proxy`: `off`, a number of proxy hops (1-10), or comma-separated addresses, CIDRs and
 * the names loopback, linklocal, uniquelocal. It decides the client address that sign-in is rate-limited
 * by and whether a request counts as https (`X-Forwarded-Proto`).
 */
const trustProxy = z.string().transform((text, ctx): boolean | number | string => {
  const value = text.trim();
  if (value === 'off' || value === 'false') return false;
  if (/^(?:[1-9]|10)$/.test(value)) return Number(value);
  const parts = value.split(',').map((part) => part.trim());
  if (
    value !== '' &&
    parts.every((part) => /^(?:loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(?:\/\d{1,3})?)$/.test(part))
  ) {
    return parts.join(',');
  }
  ctx.addIssue({
    code: 'custom',
    message:
      'Expected off, a number of proxy hops from 1 to 10, or comma-separated addresses, CIDRs, loopback, linklocal, uniquelocal',
  });
  return z.NEVER;
});

const envSchema = z.object({
  PIXELSHIFT_DATA_DIR: z.string().min(1).default('.pixelshift'),
  PIXELSHIFT_CONFIG: z.string().min(1).optional(),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PUBLIC_URL: z.url().optional(),
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: booleanText.optional(),
  TEMPORAL_UI_URL: z.url().optional(),
  PIXELSHIFT_TASK_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,100}$/)
    .default('pixelshift'),
  PIXELSHIFT_IMAGING_SLOTS: positiveInt.optional(),
  PIXELSHIFT_MAX_INPUT_PIXELS: positiveInt.default(limits.defaultMaxInputPixels),
  PIXELSHIFT_MAX_SOURCE_BYTES: positiveInt.max(limits.maxSourceBytes).default(limits.maxSourceBytes),
  /** HEIC (HEVC) decoding in WebAssembly; `off` refuses HEIC sources as unsupported_input. */
  PIXELSHIFT_HEIC: z.enum(['on', 'off']).default('on'),
  PIXELSHIFT_JWT_SECRET: z.string().min(32).optional(),
  PIXELSHIFT_TOKEN_TTL_SECONDS: positiveInt.max(86_400).default(3600),
  PIXELSHIFT_MAX_BODY_BYTES: positiveInt.default(8 * 1024 * 1024),
  /** Live progress streams (SSE) one account may hold open at once, per API process. */
  PIXELSHIFT_MAX_STREAMS_PER_ACCOUNT: positiveInt.max(10_000).default(10),
  PIXELSHIFT_THROTTLE: z.enum(['on', 'off']).default('on'),
  /** How a batch runs its graphs: a child workflow each (inspectable one by one), or activities of the batch. */
  PIXELSHIFT_BATCH_GRAPHS: z.enum(['children', 'activities']).default('children'),
  PIXELSHIFT_THROTTLE_WINDOW: throttleWindow.default(3_600_000),
  /** Encrypts stored webhook signing secrets: 32 bytes, base64. Generated under the data dir when unset. */
  PIXELSHIFT_SECRETS_KEY: z
    .string()
    .refine((text) => Buffer.from(text, 'base64').length === 32, 'Expected 32 bytes encoded as base64')
    .optional(),
  /** Comma-separated hosts, IPs or CIDRs, each with an optional port, that outbound requests may reach. */
  PIXELSHIFT_OUTBOUND_ALLOW: z.string().optional(),
  PIXELSHIFT_WEBHOOK_RETRY_SCHEDULE: retrySchedule.optional(),
  /** How long a stopping worker lets in-flight activities finish before cancelling them (retried elsewhere). */
  PIXELSHIFT_WORKER_DRAIN: workerDrain.default(30_000),
  /** Where a worker serves its Prometheus metrics (its own and the Temporal SDK's); off when unset. */
  PIXELSHIFT_WORKER_METRICS_ADDRESS: listenAddress.optional(),
  /** Dashboard sessions end after this long without a request, and after MAX_AGE in any case. */
  PIXELSHIFT_SESSION_IDLE: sessionDuration.default(12 * 3_600_000),
  PIXELSHIFT_SESSION_MAX_AGE: sessionDuration.default(7 * 86_400_000),
  /** Failed dashboard sign-ins allowed per email and per client address within the window. */
  PIXELSHIFT_SIGN_IN_WINDOW: sessionDuration.default(15 * 60_000),
  PIXELSHIFT_SIGN_IN_FAILURES_PER_EMAIL: positiveInt.max(10_000).default(5),
  PIXELSHIFT_SIGN_IN_FAILURES_PER_ADDRESS: positiveInt.max(100_000).default(20),
  PIXELSHIFT_TRUST_PROXY: trustProxy.default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

const fileSchema = z.strictObject({
  connections: storageConnectionsSchema.optional(),
  grants: storageGrantsSchema.optional(),
  /** Hosts or CIDRs outbound requests (callbacks) may reach even though they are private (docs/architecture.md §11). */
  outboundAllow: z.array(z.string().min(1)).optional(),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  dataDir: string;
  /** The PIXELSHIFT_CONFIG file, resolved; undefined when the embedded defaults are in use. */
  configFile: string | undefined;
  database: { kind: 'pglite'; dir: string } | { kind: 'postgres'; url: string };
  http: {
    host: string;
    port: number;
    publicUrl: string | undefined;
    maxBodyBytes: number;
    maxStreamsPerAccount: number;
    /** Express's `trust proxy` (PIXELSHIFT_TRUST_PROXY): false unless the API runs behind a proxy. */
    trustProxy: boolean | number | string;
  };
  temporal: {
    address: string;
    namespace: string;
    apiKey: string | undefined;
    tls: boolean;
    uiUrl: string | undefined;
    taskQueues: { orchestration: string; imaging: string; webhooks: string };
  };
  imaging: { slots: number; maxInputPixels: number; maxSourceBytes: number; heic: boolean };
  auth: { jwtSecret: string | undefined; tokenTtlSeconds: number };
  /** Dashboard sign-in and sessions (docs/architecture.md, "Dashboard sessions"). */
  dashboard: {
    sessionIdleMs: number;
    sessionMaxAgeMs: number;
    signInWindowMs: number;
    signInFailuresPerEmail: number;
    signInFailuresPerAddress: number;
  };
  /**
   * Per-account transforms per window (docs/architecture.md §9). `enabled: false` (PIXELSHIFT_THROTTLE=off) starts graphs
   * without reserving a slot: for benchmarks and deployments that need no limit.
   */
  throttle: { enabled: boolean; windowMs: number };
  /**
   * How new batches run their graphs (PIXELSHIFT_BATCH_GRAPHS, docs/decisions.md): `children`, a child
   * workflow per graph, or `activities`, an imaging activity of the batch per graph (about half the
   * orchestration cost, no execution of its own per graph). Running batches keep the shape they began with.
   */
  batches: { graphsAs: BatchGraphsAs };
  /** Key that encrypts stored signing secrets; undefined means "load or create one under the data dir". */
  secrets: { key: string | undefined };
  /** SSRF guard exceptions for outbound requests: hosts, IPs or CIDRs with optional ports (env and file). */
  outbound: { allow: string[] };
  /**
   * Delays between the attempts of a webhook delivery (docs/architecture.md §11), read by the webhooks worker when a
   * delivery starts; about three days in all by default.
   */
  webhooks: { retryScheduleMs: readonly number[] };
  worker: {
    /** SIGTERM: how long in-flight activities may run on after polling stops (PIXELSHIFT_WORKER_DRAIN). */
    drainMs: number;
    /** `host:port` of the worker's /metrics (PIXELSHIFT_WORKER_METRICS_ADDRESS); undefined: none. */
    metricsAddress: string | undefined;
  };
  storage: {
    connections: z.infer<typeof storageConnectionsSchema>;
    grants: z.infer<typeof storageGrantsSchema>;
  };
  logLevel: Env['LOG_LEVEL'];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The embedded default: one local connection under the data dir, every bucket granted to every account. */
function embeddedStorage(dataDir: string): Config['storage'] {
  return {
    connections: {
      [DEFAULT_CONNECTION]: { kind: 'local', root: path.join(dataDir, 'storage'), watch: true },
    },
    grants: { '*': [{ connection: DEFAULT_CONNECTION, buckets: ['*'] }] },
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.PIXELSHIFT_DATA_DIR);
  let storage = embeddedStorage(dataDir);
  let outboundAllow: string[] = [];
  if (e.PIXELSHIFT_CONFIG) {
    if (!existsSync(e.PIXELSHIFT_CONFIG))
      throw new ConfigError(`PIXELSHIFT_CONFIG: no file at ${e.PIXELSHIFT_CONFIG}`);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(e.PIXELSHIFT_CONFIG, 'utf8'));
    } catch (error) {
      throw new ConfigError(`PIXELSHIFT_CONFIG: ${e.PIXELSHIFT_CONFIG} is not valid JSON`, { cause: error });
    }
    const file = fileSchema.safeParse(json);
    if (!file.success) {
      const problems = file.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
      throw new ConfigError(`PIXELSHIFT_CONFIG (${e.PIXELSHIFT_CONFIG}):\n  ${problems.join('\n  ')}`);
    }
    storage = { connections: file.data.connections ?? storage.connections, grants: file.data.grants ?? {} };
    outboundAllow = file.data.outboundAllow ?? [];
  }
  const allow = [
    ...outboundAllow,
    ...(e.PIXELSHIFT_OUTBOUND_ALLOW ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean),
  ];
  try {
    createAddressPolicy(allow);
  } catch (error) {
    throw new ConfigError(
      `PIXELSHIFT_OUTBOUND_ALLOW / outboundAllow: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const prefix = e.PIXELSHIFT_TASK_QUEUE_PREFIX;
  return {
    dataDir,
    configFile: e.PIXELSHIFT_CONFIG === undefined ? undefined : path.resolve(e.PIXELSHIFT_CONFIG),
    database: e.DATABASE_URL
      ? { kind: 'postgres', url: e.DATABASE_URL }
      : { kind: 'pglite', dir: path.join(dataDir, 'pglite') },
    http: {
      host: e.HOST,
      port: e.PORT,
      publicUrl: e.PUBLIC_URL,
      maxBodyBytes: e.PIXELSHIFT_MAX_BODY_BYTES,
      maxStreamsPerAccount: e.PIXELSHIFT_MAX_STREAMS_PER_ACCOUNT,
      trustProxy: e.PIXELSHIFT_TRUST_PROXY,
    },
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      apiKey: e.TEMPORAL_API_KEY,
      tls: e.TEMPORAL_TLS ?? Boolean(e.TEMPORAL_API_KEY),
      uiUrl: e.TEMPORAL_UI_URL?.replace(/\/+$/, ''),
      taskQueues: {
        orchestration: `${prefix}-orchestration`,
        imaging: `${prefix}-imaging`,
        webhooks: `${prefix}-webhooks`,
      },
    },
    imaging: {
      // Imaging is CPU-bound: one slot per core keeps libvips threads from fighting each other.
      slots: e.PIXELSHIFT_IMAGING_SLOTS ?? os.availableParallelism(),
      maxInputPixels: e.PIXELSHIFT_MAX_INPUT_PIXELS,
      maxSourceBytes: e.PIXELSHIFT_MAX_SOURCE_BYTES,
      heic: e.PIXELSHIFT_HEIC === 'on',
    },
    auth: { jwtSecret: e.PIXELSHIFT_JWT_SECRET, tokenTtlSeconds: e.PIXELSHIFT_TOKEN_TTL_SECONDS },
    dashboard: {
      sessionIdleMs: e.PIXELSHIFT_SESSION_IDLE,
      sessionMaxAgeMs: e.PIXELSHIFT_SESSION_MAX_AGE,
      signInWindowMs: e.PIXELSHIFT_SIGN_IN_WINDOW,
      signInFailuresPerEmail: e.PIXELSHIFT_SIGN_IN_FAILURES_PER_EMAIL,
      signInFailuresPerAddress: e.PIXELSHIFT_SIGN_IN_FAILURES_PER_ADDRESS,
    },
    throttle: { enabled: e.PIXELSHIFT_THROTTLE === 'on', windowMs: e.PIXELSHIFT_THROTTLE_WINDOW },
    batches: { graphsAs: e.PIXELSHIFT_BATCH_GRAPHS },
    secrets: { key: e.PIXELSHIFT_SECRETS_KEY },
    outbound: { allow },
    webhooks: { retryScheduleMs: e.PIXELSHIFT_WEBHOOK_RETRY_SCHEDULE ?? defaultRetryScheduleMs() },
    worker: { drainMs: e.PIXELSHIFT_WORKER_DRAIN, metricsAddress: e.PIXELSHIFT_WORKER_METRICS_ADDRESS },
    storage,
    logLevel: e.LOG_LEVEL,
  };
}
