-- The read model (docs/architecture.md §7, "Read model"): every graph run and batch as the API shows it,
-- written at each state change by code that already runs at that moment (the submit or ingest, the
-- throttle reservation, the imaging activity's completion), so that no status read asks Temporal.
-- Writes go through graph_run_advance: a state never moves backwards, and usage counters move exactly
-- once per transition, whatever retries or replays repeat the call.

alter table batches
  add column state text not null default 'running'
    check (state in ('running', 'succeeded', 'partial', 'failed', 'cancelled')),
  -- Set once its workflow has started: a batch stored but never started (the engine was down) does not
  -- exist for its client until a retry with the same Idempotency-Key starts it.
  add column started_at timestamptz,
  add column finished_at timestamptz;

-- Batches stored before this migration were started by their submission (or will be by its retry);
-- their graph rows are rebuilt from Temporal's histories by `pixelshift reconcile`.
update batches set started_at = created_at;

create table graph_runs (
  -- The graph workflow ID: batch graphs `graph/<account>/<batch>/<index>`, triggered runs their dedup key.
  workflow_id text primary key,
  account_id text not null references accounts (id) on delete cascade,
  -- Insertion order, never changed: the key of keyset paging, stable while states change.
  seq bigint generated always as identity,
  trigger text not null check (trigger in ('api', 's3', 'webhook')),
  -- The rule or inbound hook that started a triggered run; null for batch graphs.
  trigger_id text,
  batch_id text references batches (id) on delete cascade,
  graph_index integer,
  -- `bucket/key` of the source image, and the version an event named (when the bucket keeps versions).
  source text not null,
  source_version text,
  state text not null default 'queued'
    check (state in ('queued', 'throttled', 'running', 'succeeded', 'partial', 'failed', 'cancelled',
      'superseded')),
  -- queued 0, throttled 1, running 2, final 3: an update may only keep or raise it.
  state_rank smallint not null default 0,
  throttled_until timestamptz,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  error_code text,
  error_message text,
  sinks jsonb not null default '[]'::jsonb,
  failures jsonb not null default '[]'::jsonb,
  source_pixels bigint,
  unique (batch_id, graph_index),
  check ((batch_id is null) = (graph_index is null))
);

create unique index graph_runs_seq_idx on graph_runs (seq);
create index graph_runs_account_trigger_seq_idx on graph_runs (account_id, trigger, seq);
create index graph_runs_account_triggered_seq_idx on graph_runs (account_id, seq) where trigger <> 'api';
create index graph_runs_batch_state_idx on graph_runs (batch_id, state) where batch_id is not null;

-- Per account and hour: graphs by final state, graphs the throttle admitted (started), megapixels read,
-- bytes written (GET /v1/account/usage).
create table usage_hourly (
  account_id text not null references accounts (id) on delete cascade,
  hour timestamptz not null,
  succeeded integer not null default 0,
  partial integer not null default 0,
  failed integer not null default 0,
  cancelled integer not null default 0,
  transforms integer not null default 0,
  megapixels_read double precision not null default 0,
  bytes_written bigint not null default 0,
  primary key (account_id, hour)
);

-- Moves one graph run forward. A call that would keep a final state or lower the rank changes nothing and
-- returns false (a retried activity, a replayed workflow, a late throttle write after the outcome).
-- Re-entering `throttled` is allowed: a moved slot updates throttled_until.
create function graph_run_advance(
  p_workflow_id text,
  p_state text,
  p_at timestamptz,
  p_throttled_until timestamptz,
  p_error_code text,
  p_error_message text,
  p_sinks jsonb,
  p_failures jsonb,
  p_source_pixels bigint
) returns boolean
language plpgsql volatile as $$
declare
  v_rank smallint := case p_state
    when 'queued' then 0 when 'throttled' then 1 when 'running' then 2 else 3 end;
  v_at timestamptz := coalesce(p_at, date_trunc('milliseconds', clock_timestamp()));
  v_old_rank smallint;
  v_account text;
  v_bytes bigint;
begin
  select r.state_rank, r.account_id into v_old_rank, v_account
    from graph_runs r where r.workflow_id = p_workflow_id for update;
  if not found or v_rank < v_old_rank or (v_rank = v_old_rank and v_rank <> 1) then
    return false;
  end if;
  update graph_runs r set
    state = p_state,
    state_rank = v_rank,
    throttled_until = case when v_rank = 1 then p_throttled_until end,
    started_at = case when v_rank = 2 then coalesce(r.started_at, v_at) else r.started_at end,
    finished_at = case when v_rank = 3 then v_at end,
    error_code = case when v_rank = 3 then p_error_code end,
    error_message = case when v_rank = 3 then p_error_message end,
    sinks = case when v_rank = 3 then coalesce(p_sinks, '[]'::jsonb) else r.sinks end,
    failures = case when v_rank = 3 then coalesce(p_failures, '[]'::jsonb) else r.failures end,
    source_pixels = coalesce(p_source_pixels, r.source_pixels)
  where r.workflow_id = p_workflow_id;
  if v_old_rank < 2 and v_rank >= 2 and p_state not in ('cancelled', 'superseded') then
    insert into usage_hourly as u (account_id, hour, transforms)
      values (v_account, date_trunc('hour', v_at), 1)
      on conflict (account_id, hour) do update set transforms = u.transforms + 1;
  end if;
  if v_rank = 3 then
    select coalesce(sum((s ->> 'bytes')::bigint), 0) into v_bytes
      from jsonb_array_elements(coalesce(p_sinks, '[]'::jsonb)) s;
    insert into usage_hourly as u
        (account_id, hour, succeeded, partial, failed, cancelled, megapixels_read, bytes_written)
      values (
        v_account, date_trunc('hour', v_at),
        (p_state = 'succeeded')::int, (p_state = 'partial')::int, (p_state = 'failed')::int,
        (p_state = 'cancelled')::int, coalesce(p_source_pixels, 0) / 1e6, v_bytes)
      on conflict (account_id, hour) do update set
        succeeded = u.succeeded + excluded.succeeded,
        partial = u.partial + excluded.partial,
        failed = u.failed + excluded.failed,
        cancelled = u.cancelled + excluded.cancelled,
        megapixels_read = u.megapixels_read + excluded.megapixels_read,
        bytes_written = u.bytes_written + excluded.bytes_written;
  end if;
  return true;
end
$$;

-- A throttle reservation that also records what it decided on the graph's row, in the same round trip:
-- `throttled` until the slot, or `running` once the slot has come (the graph starts right after).
create function throttle_reserve_and_record(
  p_account_id text,
  p_graph_key text,
  p_window_ms double precision,
  p_default_limit integer,
  p_now timestamptz
) returns table (slot_ms double precision, now_ms double precision, created boolean)
language plpgsql volatile as $$
declare
  v_slot double precision;
  v_now double precision;
  v_created boolean;
begin
  select t.slot_ms, t.now_ms, t.created into v_slot, v_now, v_created
    from throttle_reserve(p_account_id, p_graph_key, p_window_ms, p_default_limit, p_now) t;
  if v_slot > v_now then
    perform graph_run_advance(p_graph_key, 'throttled', to_timestamp(v_now / 1000),
      to_timestamp(v_slot / 1000), null, null, null, null, null);
  else
    perform graph_run_advance(p_graph_key, 'running', to_timestamp(v_now / 1000),
      null, null, null, null, null, null);
  end if;
  return query select v_slot, v_now, v_created;
end
$$;

-- A batch ended: its own state, and its graphs that never started (it was cancelled) end as cancelled.
create function batch_finish(
  p_batch_id text,
  p_state text,
  p_at timestamptz
) returns void
language plpgsql volatile as $$
declare
  v_at timestamptz := coalesce(p_at, date_trunc('milliseconds', clock_timestamp()));
  v_workflow_id text;
begin
  update batches set state = p_state, finished_at = coalesce(finished_at, v_at)
    where id = p_batch_id and state = 'running';
  if p_state = 'cancelled' then
    for v_workflow_id in
      select workflow_id from graph_runs where batch_id = p_batch_id and state_rank < 3 order by graph_index
    loop
      perform graph_run_advance(v_workflow_id, 'cancelled', v_at, null, 'cancelled',
        'The batch was cancelled before this graph ran', null, null, null);
    end loop;
  end if;
end
$$;
