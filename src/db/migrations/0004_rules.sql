-- Upload rules (DESIGN §10): which objects of which bucket start which graph template. Event ingress looks
-- rules up by (connection, bucket) across accounts, enabled ones only.

create table rules (
  id text primary key,
  account_id text not null references accounts (id) on delete cascade,
  name text,
  connection text not null,
  bucket text not null,
  prefix text not null default '',
  suffix text not null default '',
  -- Media types without parameters, lower case; empty means any.
  content_types jsonb not null default '[]'::jsonb,
  min_size bigint check (min_size >= 0),
  max_size bigint check (max_size >= 0),
  enabled boolean not null default true,
  -- A graph without its source; sink keys are templates ({dir}, {name}, {ext}, {key}, {bucket}).
  template jsonb not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index rules_account_id_created_at_idx on rules (account_id, created_at);
create index rules_connection_bucket_enabled_idx on rules (connection, bucket, enabled);
