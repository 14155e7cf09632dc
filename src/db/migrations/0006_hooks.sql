-- Inbound hooks (DESIGN §10): other systems start a graph run with a signed request to
-- POST /v1/hooks/{id}. The secret is needed again to verify each request, so it is stored sealed
-- (src/auth/secret-box.ts, context = the hook id), never hashed.

create table hooks (
  -- `hook_` + 32 base32 characters (160 random bits): it appears in the trigger URL and is what
  -- finds the hook before the signature proves the sender.
  id text primary key,
  account_id text not null references accounts (id) on delete cascade,
  name text not null,
  secret_sealed text not null,
  -- The secret before the last rotation, accepted until previous_secret_expires_at.
  previous_secret_sealed text,
  previous_secret_expires_at timestamptz,
  -- {connection?, bucket: {pointer}|{value}, key: {pointer}} (src/triggers/hook-mapping.ts).
  mapping jsonb not null,
  -- A graph template (src/triggers/graph-template.ts).
  template jsonb not null,
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index hooks_account_id_created_at_idx on hooks (account_id, created_at);

-- One row per accepted message: a sender's retry with the same webhook-id finds the run it started,
-- also after a restart and after Temporal forgot the closed workflow.
create table hook_messages (
  hook_id text not null references hooks (id) on delete cascade,
  webhook_id text not null,
  workflow_id text not null,
  received_at timestamptz not null default now(),
  primary key (hook_id, webhook_id)
);
