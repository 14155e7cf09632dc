-- Per-account throttle: the setting and the reservations that enforce it (DESIGN §9, docs/decisions.md
-- "Throttle"). Every graph run reserves one start slot; slots are laid out so that no rolling window holds
-- more than the account's limit.

create table throttle_settings (
  account_id text primary key references accounts (id) on delete cascade,
  transforms_per_hour integer not null check (transforms_per_hour between 1 and 1000000),
  updated_at timestamptz not null default now()
);

create table throttle_reservations (
  account_id text not null references accounts (id) on delete cascade,
  -- The graph workflow ID: one reservation per graph run, whatever retries or replays happen.
  graph_key text not null,
  -- Order of reservation within the account (FIFO); slots never decrease along it, so "the reservation
  -- <limit> places back" is one index lookup instead of a count over the window.
  seq bigint not null check (seq > 0),
  slot_at timestamptz not null,
  created_at timestamptz not null default now(),
  primary key (account_id, graph_key)
);

create unique index throttle_reservations_account_seq_idx on throttle_reservations (account_id, seq);
create index throttle_reservations_account_slot_idx on throttle_reservations (account_id, slot_at);

-- One reservation in one statement (src/throttle/reservations.ts `reserveSlot`): the account's lock is
-- held only while the server runs this body, never across client round trips. The slot rule is the one
-- of src/throttle/schedule.ts (`slotAfter`): t = max(now, last slot, slot <limit> places back + window);
-- the tests hold the two to the same answers. Each statement of a volatile function takes a fresh
-- snapshot, so the reads after the lock see every reservation committed before it.
create function throttle_reserve(
  p_account_id text,
  p_graph_key text,
  p_window_ms double precision,
  p_default_limit integer,
  p_now timestamptz
) returns table (slot_ms double precision, now_ms double precision, created boolean)
language plpgsql volatile as $$
declare
  v_now timestamptz;
  v_window interval := make_interval(secs => p_window_ms / 1000);
  v_held timestamptz;
  v_limit integer;
  v_last_seq bigint;
  v_last_slot timestamptz;
  v_base timestamptz;
  v_slot timestamptz;
begin
  perform pg_advisory_xact_lock(1885960307, hashtext(p_account_id));
  -- The clock after the lock: slots are decided in the order the lock is granted.
  v_now := coalesce(p_now, date_trunc('milliseconds', clock_timestamp()));
  select r.slot_at into v_held
    from throttle_reservations r where r.account_id = p_account_id and r.graph_key = p_graph_key;
  if found then
    return query select extract(epoch from v_held)::float8 * 1000, extract(epoch from v_now)::float8 * 1000, false;
    return;
  end if;
  select coalesce(
    (select s.transforms_per_hour from throttle_settings s where s.account_id = p_account_id),
    p_default_limit) into v_limit;
  select r.seq, r.slot_at into v_last_seq, v_last_slot
    from throttle_reservations r where r.account_id = p_account_id order by r.seq desc limit 1;
  -- The row <limit> places back, or the nearest one before it when that one was released (cautious).
  select r.slot_at into v_base
    from throttle_reservations r
    where r.account_id = p_account_id and r.seq <= coalesce(v_last_seq, 0) + 1 - v_limit
    order by r.seq desc limit 1;
  v_slot := greatest(v_now, v_last_slot, v_base + v_window);
  -- Rows a window old constrain nothing any more.
  delete from throttle_reservations r where r.account_id = p_account_id and r.slot_at <= v_now - v_window;
  insert into throttle_reservations (account_id, graph_key, seq, slot_at)
    values (p_account_id, p_graph_key, coalesce(v_last_seq, 0) + 1, v_slot);
  return query select extract(epoch from v_slot)::float8 * 1000, extract(epoch from v_now)::float8 * 1000, true;
end
$$;
