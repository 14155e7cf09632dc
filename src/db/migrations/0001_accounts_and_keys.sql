-- Accounts and their API key pairs (DESIGN §8, §12).

create table accounts (
  -- A slug such as "acme": it appears in workflow IDs, so it is short, lower-case and has no "/".
  id text primary key check (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name text not null check (length(name) between 1 and 200),
  created_at timestamptz not null default now()
);

create table api_keys (
  id text primary key,
  account_id text not null references accounts (id) on delete cascade,
  -- Hex SHA-256 of the secret; the secret is shown once at creation and never stored.
  secret_hash text not null check (secret_hash ~ '^[0-9a-f]{64}$'),
  label text,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);

create index api_keys_account_id_idx on api_keys (account_id);
