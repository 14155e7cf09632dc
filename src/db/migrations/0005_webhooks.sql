-- Outbound webhooks (DESIGN §11, docs/decisions.md "Webhook delivery"): subscriptions with their sealed
-- signing secrets, the events we emitted, one delivery per (event, target) and every attempt of it.

create table webhook_subscriptions (
  id text primary key,
  account_id text not null references accounts (id) on delete cascade,
  url text not null,
  -- Event types, e.g. ["graph.succeeded", "batch.completed"].
  events jsonb not null,
  enabled boolean not null default true,
  -- Why it was disabled (e.g. the receiver answered 410 Gone); cleared when re-enabled.
  disabled_reason text,
  -- AES-256-GCM under the secrets key (src/auth/secret-box.ts), bound to the subscription id.
  secret_sealed text not null,
  -- After a rotation the old secret also signs until it expires, so receivers can switch over.
  previous_secret_sealed text,
  previous_secret_expires_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index webhook_subscriptions_account_idx on webhook_subscriptions (account_id, created_at);

-- The account's secret for batch callbackUrl deliveries (created on first use).
create table webhook_callback_secrets (
  account_id text primary key references accounts (id) on delete cascade,
  secret_sealed text not null,
  created_at timestamptz not null default now()
);

create table webhook_events (
  -- Deterministic (hash of the emitting workflow run and type): a retried emission stores nothing twice.
  id text primary key,
  account_id text not null references accounts (id) on delete cascade,
  type text not null,
  payload jsonb not null,
  created_at timestamptz not null default now()
);

create table webhook_deliveries (
  id text primary key,
  account_id text not null references accounts (id) on delete cascade,
  event_id text not null references webhook_events (id) on delete cascade,
  -- Exactly one of the two: a subscription, or the batch's callbackUrl.
  subscription_id text references webhook_subscriptions (id) on delete cascade,
  callback_url text,
  workflow_id text not null unique,
  -- pending | succeeded | failed | disabled
  state text not null default 'pending',
  attempts integer not null default 0,
  last_status integer,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((subscription_id is null) <> (callback_url is null))
);

create index webhook_deliveries_subscription_idx on webhook_deliveries (subscription_id, created_at);

create table webhook_attempts (
  delivery_id text not null references webhook_deliveries (id) on delete cascade,
  number integer not null,
  at timestamptz not null default now(),
  -- The HTTP status, when there was a response.
  status integer,
  latency_ms integer not null,
  error text,
  primary key (delivery_id, number)
);
