-- Submitted batches, their graphs, and Idempotency-Key records (DESIGN §7, §8, §12).
-- Graphs live here so that workflows pass references: a 1000-graph batch would crowd Temporal's 2 MB
-- payload limit.

create table batches (
  id text primary key,
  account_id text not null references accounts (id) on delete cascade,
  graph_count integer not null check (graph_count between 1 and 1000),
  callback_url text,
  created_at timestamptz not null default now()
);

create index batches_account_id_created_at_idx on batches (account_id, created_at);

create table batch_graphs (
  batch_id text not null references batches (id) on delete cascade,
  "index" integer not null check ("index" >= 0),
  graph jsonb not null,
  primary key (batch_id, "index")
);

create table idempotency_keys (
  account_id text not null references accounts (id) on delete cascade,
  key text not null,
  request_hash text not null,
  -- Deferred: the key is claimed first (its primary key settles concurrent duplicates), the batch is
  -- inserted next, in the same transaction.
  batch_id text not null references batches (id) on delete cascade deferrable initially deferred,
  response jsonb,
  created_at timestamptz not null default now(),
  primary key (account_id, key)
);
