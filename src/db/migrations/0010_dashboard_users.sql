-- Dashboard sign-in (issue 13, docs/architecture.md "Dashboard sessions"): the people who sign in to the
-- dashboard, each in one account; their sessions; one-time sign-in links; and the failure counters that
-- rate-limit sign-in, kept here so every API replica sees the same counts.

create table dashboard_users (
  id text primary key,
  account_id text not null references accounts (id) on delete cascade,
  -- Stored in lower case: an address is one user however it is typed.
  email text not null check (email = lower(email)),
  -- scrypt$N$r$p$salt$hash (src/core/auth/passwords.ts).
  password_hash text not null,
  created_at timestamptz not null default now()
);
create unique index dashboard_users_email_idx on dashboard_users (lower(email));
create index dashboard_users_account_id_idx on dashboard_users (account_id);

-- A session is found by the SHA-256 of its cookie's token: the table alone cannot be replayed as cookies.
create table dashboard_sessions (
  token_hash text primary key,
  user_id text not null references dashboard_users (id) on delete cascade,
  account_id text not null references accounts (id) on delete cascade,
  csrf_token text not null,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null,
  -- Moves forward with use (at most once a minute); never past expires_at.
  idle_expires_at timestamptz not null,
  expires_at timestamptz not null,
  ended_at timestamptz
);
create index dashboard_sessions_user_id_idx on dashboard_sessions (user_id);
create index dashboard_sessions_expires_at_idx on dashboard_sessions (expires_at);

create table dashboard_sign_in_links (
  token_hash text primary key,
  user_id text not null references dashboard_users (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz
);

-- Failed sign-ins per email and per client address in a fixed window that ends at window_ends_at. The key
-- is a SHA-256 of `email:<address>` or `address:<ip>`, so the table never holds what strangers typed.
create table sign_in_failures (
  key text primary key,
  window_ends_at timestamptz not null,
  failures integer not null
);
