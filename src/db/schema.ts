/**
 * The one Drizzle schema of the database (docs/architecture.md §12). Queries are typed from it; the tables themselves
 * are created by the hand-written SQL in `migrations/` (a test checks the two agree), because SQL is what
 * an operator reviews before running `pixelshift migrate` against production.
 */
import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  type AnyPgColumn,
} from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import type { TransformGraph } from '../core/graph/graph.js';
import type {
  BatchGraphsAs,
  BatchState,
  GraphState,
  SinkFailureOutcome,
  SinkOutcome,
} from '../core/jobs/job-status.js';
import type { RunTrigger } from '../core/jobs/orchestrator-ports.js';
import type { HookMapping } from '../core/triggers/inbound-hook-mapping.js';

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

export const accounts = pgTable('accounts', {
  /** A slug such as `acme`: it appears in workflow IDs (`batch/acme/…`), so it is short and URL-safe. */
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: createdAt(),
});

export const apiKeys = pgTable(
  'api_keys',
  {
    /** The public key id (`pk_…`), used as the OAuth client_id. */
    id: text('id').primaryKey(),
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    /** Hex SHA-256 of the secret; the secret itself is shown once and never stored. */
    secretHash: text('secret_hash').notNull(),
    label: text('label'),
    createdAt: createdAt(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
  },
  (table) => [index('api_keys_account_id_idx').on(table.accountId)],
);

export const batches = pgTable(
  'batches',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    graphCount: integer('graph_count').notNull(),
    callbackUrl: text('callback_url'),
    createdAt: createdAt(),
    /** The read model (migration 0008): `running` until the batch workflow records how it ended. */
    state: text('state').$type<BatchState>().notNull().default('running'),
    /** When its workflow was started: null while it is stored but the engine has not taken it. */
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
    /** Changes of its stream so far (migration 0009): the number of its latest change. */
    changeCount: integer('change_count').notNull().default(0),
    /** Insertion order (migration 0011): the immutable keyset-paging key of the batch list. */
    seq: bigint('seq', { mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
    /** The batch whose failed graphs this one retries (migration 0011); null for submitted batches. */
    retryOf: text('retry_of').references((): AnyPgColumn => batches.id, { onDelete: 'set null' }),
    /** How its graphs run (migration 0012): a child workflow each, or activities of the batch's workflow. */
    graphsAs: text('graphs_as').$type<BatchGraphsAs>().notNull().default('children'),
  },
  (table) => [
    index('batches_account_id_created_at_idx').on(table.accountId, table.createdAt),
    uniqueIndex('batches_seq_idx').on(table.seq),
    index('batches_account_seq_idx').on(table.accountId, table.seq),
    index('batches_account_state_seq_idx').on(table.accountId, table.state, table.seq),
    index('batches_account_id_prefix_idx').on(table.accountId, table.id.op('text_pattern_ops')),
  ],
);

/** The graphs of a batch, one row each: workflows pass references, never the whole batch (docs/architecture.md §7). */
export const batchGraphs = pgTable(
  'batch_graphs',
  {
    batchId: text('batch_id')
      .notNull()
      .references(() => batches.id, { onDelete: 'cascade' }),
    index: integer('index').notNull(),
    graph: jsonb('graph').$type<TransformGraph>().notNull(),
  },
  (table) => [primaryKey({ columns: [table.batchId, table.index] })],
);

/**
 * One row per (account, Idempotency-Key). The row is claimed before the batch is stored, so the
 * primary key decides between concurrent duplicates; `response` is filled once the batch has started.
 * The foreign key to `batches` is DEFERRABLE INITIALLY DEFERRED in SQL (claim first, batch second, in
 * one transaction); Drizzle cannot express that, and does not need to: it only reads and writes rows.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    /** Hex SHA-256 of the canonical JSON of the request body. */
    requestHash: text('request_hash').notNull(),
    batchId: text('batch_id')
      .notNull()
      .references(() => batches.id, { onDelete: 'cascade' }),
    response: jsonb('response'),
    createdAt: createdAt(),
  },
  (table) => [primaryKey({ columns: [table.accountId, table.key] })],
);

/** An account's throttle; accounts without a row have the default (`DEFAULT_TRANSFORMS_PER_HOUR`). */
export const throttleSettings = pgTable('throttle_settings', {
  accountId: text('account_id')
    .primaryKey()
    .references(() => accounts.id, { onDelete: 'cascade' }),
  transformsPerHour: integer('transforms_per_hour').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/**
 * One start slot per graph run (src/db/throttle-reservations.ts). Rows older than one window are purged as
 * the account reserves, so the table holds about one window of starts plus the waiting work.
 */
export const throttleReservations = pgTable(
  'throttle_reservations',
  {
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    graphKey: text('graph_key').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    slotAt: timestamp('slot_at', { withTimezone: true, mode: 'date' }).notNull(),
    createdAt: createdAt(),
  },
  (table) => [
    primaryKey({ columns: [table.accountId, table.graphKey] }),
    uniqueIndex('throttle_reservations_account_seq_idx').on(table.accountId, table.seq),
    index('throttle_reservations_account_slot_idx').on(table.accountId, table.slotAt),
  ],
);

// ---- rules (issue 5: S3 event triggers)

/** An upload rule: which objects of a bucket start which graph template (docs/architecture.md §10). */
export const rules = pgTable(
  'rules',
  {
    /** `rule_` + 26 characters, like batch ids (src/db/ids.ts). */
    id: text('id').primaryKey(),
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    name: text('name'),
    connection: text('connection').notNull(),
    bucket: text('bucket').notNull(),
    prefix: text('prefix').notNull().default(''),
    suffix: text('suffix').notNull().default(''),
    /** Media types without parameters, lower case; empty matches any. */
    contentTypes: jsonb('content_types').$type<string[]>().notNull().default([]),
    minSize: bigint('min_size', { mode: 'number' }),
    maxSize: bigint('max_size', { mode: 'number' }),
    enabled: boolean('enabled').notNull().default(true),
    template: jsonb('template').$type<TransformGraph>().notNull(),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [
    index('rules_account_id_created_at_idx').on(table.accountId, table.createdAt),
    index('rules_connection_bucket_enabled_idx').on(table.connection, table.bucket, table.enabled),
  ],
);

// ---- SNS
/**
 * SNS messages already acted on, by MessageId: a replayed SubscriptionConfirmation is refused instead of
 * confirming again. Rows older than twice the replay window are purged as new ones arrive (an older
 * message is refused by its Timestamp anyway).
 */
export const snsMessages = pgTable(
  'sns_messages',
  {
    messageId: text('message_id').primaryKey(),
    topicArn: text('topic_arn').notNull(),
    type: text('type').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [index('sns_messages_received_idx').on(table.receivedAt)],
);

export const schema = {
  accounts,
  apiKeys,
  batches,
  batchGraphs,
  idempotencyKeys,
  throttleSettings,
  throttleReservations,
  rules,
  snsMessages,
};
export type Schema = typeof schema;

export type AccountRow = typeof accounts.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type BatchRow = typeof batches.$inferSelect;
export type IdempotencyRow = typeof idempotencyKeys.$inferSelect;
export type RuleRow = typeof rules.$inferSelect;

// ---- inbound hooks

/** Inbound hooks (migration 0006): the secret is sealed, not hashed, because every request is verified with it. */
export const hooks = pgTable(
  'hooks',
  {
    /** `hook_…`, unguessable: it is in the trigger URL. */
    id: text('id').primaryKey(),
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    secretSealed: text('secret_sealed').notNull(),
    previousSecretSealed: text('previous_secret_sealed'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true, mode: 'date' }),
    mapping: jsonb('mapping').$type<HookMapping>().notNull(),
    template: jsonb('template').$type<TransformGraph>().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [index('hooks_account_id_created_at_idx').on(table.accountId, table.createdAt)],
);

/** Messages a hook accepted, by `webhook-id`: deduplication that survives restarts. */
export const hookMessages = pgTable(
  'hook_messages',
  {
    hookId: text('hook_id')
      .notNull()
      .references(() => hooks.id, { onDelete: 'cascade' }),
    webhookId: text('webhook_id').notNull(),
    workflowId: text('workflow_id').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.hookId, table.webhookId] })],
);

// Registered after their definitions so that this block stays at the end of the file; the Drizzle
// client is built from `schema` when a database is opened, after this module has run.
Object.assign(schema, { hooks, hookMessages });

export type HookRow = typeof hooks.$inferSelect;
export type HookMessageRow = typeof hookMessages.$inferSelect;

// ---- webhooks (docs/architecture.md §11; migration 0005). Registered into `schema` below so one Drizzle handle knows them.

export const webhookSubscriptions = pgTable(
  'webhook_subscriptions',
  {
    /** `wh_…` */
    id: text('id').primaryKey(),
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    events: jsonb('events').$type<string[]>().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    disabledReason: text('disabled_reason'),
    secretSealed: text('secret_sealed').notNull(),
    previousSecretSealed: text('previous_secret_sealed'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true, mode: 'date' }),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [index('webhook_subscriptions_account_idx').on(table.accountId, table.createdAt)],
);

export const webhookCallbackSecrets = pgTable('webhook_callback_secrets', {
  accountId: text('account_id')
    .primaryKey()
    .references(() => accounts.id, { onDelete: 'cascade' }),
  secretSealed: text('secret_sealed').notNull(),
  createdAt: createdAt(),
});

export const webhookEvents = pgTable('webhook_events', {
  /** `evt_…`, deterministic per emitting workflow run and type. */
  id: text('id').primaryKey(),
  accountId: text('account_id')
    .notNull()
    .references(() => accounts.id, { onDelete: 'cascade' }),
  type: text('type').notNull(),
  payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
  createdAt: createdAt(),
});

export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    /** `dlv_…` */
    id: text('id').primaryKey(),
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    eventId: text('event_id')
      .notNull()
      .references(() => webhookEvents.id, { onDelete: 'cascade' }),
    subscriptionId: text('subscription_id').references(() => webhookSubscriptions.id, {
      onDelete: 'cascade',
    }),
    callbackUrl: text('callback_url'),
    workflowId: text('workflow_id').notNull().unique(),
    // `refused`: the outbound address policy refused the target at connect time (no retry).
    state: text('state')
      .$type<'pending' | 'succeeded' | 'failed' | 'disabled' | 'refused'>()
      .notNull()
      .default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [index('webhook_deliveries_subscription_idx').on(table.subscriptionId, table.createdAt)],
);

export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    deliveryId: text('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    number: integer('number').notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    status: integer('status'),
    latencyMs: integer('latency_ms').notNull(),
    error: text('error'),
  },
  (table) => [primaryKey({ columns: [table.deliveryId, table.number] })],
);

Object.assign(schema, {
  webhookSubscriptions,
  webhookCallbackSecrets,
  webhookEvents,
  webhookDeliveries,
  webhookAttempts,
});

export type WebhookSubscriptionRow = typeof webhookSubscriptions.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type WebhookAttemptRow = typeof webhookAttempts.$inferSelect;

/**
 * The read model of graph runs (migration 0008, docs/architecture.md §7): one row per graph workflow,
 * batch graphs and triggered runs alike. Written only through the SQL function `graph_run_advance`
 * (src/db/graph-runs.ts), which never moves a state backwards.
 */
export const graphRuns = pgTable(
  'graph_runs',
  {
    workflowId: text('workflow_id').primaryKey(),
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    /** Insertion order: the immutable keyset-paging key. */
    seq: bigint('seq', { mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
    trigger: text('trigger').$type<RunTrigger | 'api'>().notNull(),
    triggerId: text('trigger_id'),
    batchId: text('batch_id').references(() => batches.id, { onDelete: 'cascade' }),
    graphIndex: integer('graph_index'),
    source: text('source').notNull(),
    sourceVersion: text('source_version'),
    state: text('state').$type<GraphState>().notNull().default('queued'),
    stateRank: smallint('state_rank').notNull().default(0),
    throttledUntil: timestamp('throttled_until', { withTimezone: true, mode: 'date' }),
    createdAt: createdAt(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    sinks: jsonb('sinks').$type<SinkOutcome[]>().notNull().default([]),
    failures: jsonb('failures').$type<SinkFailureOutcome[]>().notNull().default([]),
    sourcePixels: bigint('source_pixels', { mode: 'number' }),
    /** Changes so far (migration 0009): the number of its latest change in its own stream. */
    version: integer('version').notNull().default(0),
  },
  (table) => [
    uniqueIndex('graph_runs_seq_idx').on(table.seq),
    index('graph_runs_account_trigger_seq_idx').on(table.accountId, table.trigger, table.seq),
  ],
);
export type GraphRunRow = typeof graphRuns.$inferSelect;

/**
 * The change log of live progress (migration 0009, docs/architecture.md §7.3), written only by
 * `graph_run_advance` and `batch_finish`; read with SQL in src/db/progress-changes.ts.
 */
export const graphRunChanges = pgTable('graph_run_changes', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  workflowId: text('workflow_id').references(() => graphRuns.workflowId, { onDelete: 'cascade' }),
  runVersion: integer('run_version'),
  batchId: text('batch_id').references(() => batches.id, { onDelete: 'cascade' }),
  batchChange: integer('batch_change'),
  fromState: text('from_state'),
  state: text('state').notNull(),
  at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
  throttledUntil: timestamp('throttled_until', { withTimezone: true, mode: 'date' }),
});

/** Usage per account and hour (migration 0008), moved by `graph_run_advance` once per transition. */
export const usageHourly = pgTable(
  'usage_hourly',
  {
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    hour: timestamp('hour', { withTimezone: true, mode: 'date' }).notNull(),
    succeeded: integer('succeeded').notNull().default(0),
    partial: integer('partial').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    cancelled: integer('cancelled').notNull().default(0),
    transforms: integer('transforms').notNull().default(0),
    megapixelsRead: doublePrecision('megapixels_read').notNull().default(0),
    bytesWritten: bigint('bytes_written', { mode: 'number' }).notNull().default(0),
  },
  (table) => [primaryKey({ columns: [table.accountId, table.hour] })],
);

/** People who sign in to the dashboard (migration 0010), each in one account; emails in lower case. */
export const dashboardUsers = pgTable(
  'dashboard_users',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    /** `scrypt$N$r$p$salt$hash` (src/core/auth/passwords.ts). */
    passwordHash: text('password_hash').notNull(),
    createdAt: createdAt(),
  },
  (table) => [
    uniqueIndex('dashboard_users_email_idx').on(sql`lower(${table.email})`),
    index('dashboard_users_account_id_idx').on(table.accountId),
  ],
);
export type DashboardUserRow = typeof dashboardUsers.$inferSelect;

/** Dashboard sessions, found by the SHA-256 of the cookie's token (never the token itself). */
export const dashboardSessions = pgTable(
  'dashboard_sessions',
  {
    tokenHash: text('token_hash').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => dashboardUsers.id, { onDelete: 'cascade' }),
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    csrfToken: text('csrf_token').notNull(),
    createdAt: createdAt(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true, mode: 'date' }).notNull(),
    idleExpiresAt: timestamp('idle_expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true, mode: 'date' }),
  },
  (table) => [
    index('dashboard_sessions_user_id_idx').on(table.userId),
    index('dashboard_sessions_expires_at_idx').on(table.expiresAt),
  ],
);
export type DashboardSessionRow = typeof dashboardSessions.$inferSelect;

/** One-time sign-in links (`/auth/link/<token>`), by the SHA-256 of their token. */
export const dashboardSignInLinks = pgTable('dashboard_sign_in_links', {
  tokenHash: text('token_hash').primaryKey(),
  userId: text('user_id')
    .notNull()
    .references(() => dashboardUsers.id, { onDelete: 'cascade' }),
  createdAt: createdAt(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true, mode: 'date' }),
});

/** Failed sign-ins per hashed email or client address, in a fixed window (src/db/sign-in-failures.ts). */
export const signInFailures = pgTable('sign_in_failures', {
  key: text('key').primaryKey(),
  windowEndsAt: timestamp('window_ends_at', { withTimezone: true, mode: 'date' }).notNull(),
  failures: integer('failures').notNull(),
});

Object.assign(schema, { dashboardUsers, dashboardSessions, dashboardSignInLinks, signInFailures });
