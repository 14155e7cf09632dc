-- Live progress (docs/architecture.md §7.3): every state change of a graph run, and every batch's end, as
-- a row of a change log that the event streams read. Each change is numbered twice: within its run
-- (`run_version`) and within its batch (`batch_change`). Both numbers are taken under a row lock held to
-- the end of the writing transaction (the run's row, the batch's row), so per run and per batch they are
-- visible in the order they were given: once change n is visible, every change before n is too. A stream
-- that resumes after n (Last-Event-ID) therefore misses none and repeats none.

alter table graph_runs add column version integer not null default 0;
alter table batches add column change_count integer not null default 0;

create table graph_run_changes (
  id bigint generated always as identity primary key,
  -- Null for the row that records a batch's end.
  workflow_id text references graph_runs (workflow_id) on delete cascade,
  run_version integer,
  batch_id text references batches (id) on delete cascade,
  batch_change integer,
  -- The state before and after; the counts of a batch's stream move from one to the other.
  from_state text,
  state text not null,
  at timestamptz not null,
  throttled_until timestamptz,
  check ((workflow_id is null) = (run_version is null)),
  check ((batch_id is null) = (batch_change is null)),
  check (workflow_id is not null or batch_id is not null)
);

create unique index graph_run_changes_run_idx on graph_run_changes (workflow_id, run_version)
  where workflow_id is not null;
create unique index graph_run_changes_batch_idx on graph_run_changes (batch_id, batch_change)
  where batch_id is not null;

-- As in 0008, and: the batch's row is locked first (the order batch_finish takes too, so the two never
-- deadlock), and a change that moved the row is logged with its numbers.
create or replace function graph_run_advance(
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
  v_old_state text;
  v_account text;
  v_batch text;
  v_version integer;
  v_change integer;
  v_bytes bigint;
begin
  -- batch_id never changes, so it can be read before any lock is taken.
  select r.batch_id into v_batch from graph_runs r where r.workflow_id = p_workflow_id;
  if v_batch is not null then
    perform 1 from batches b where b.id = v_batch for no key update;
  end if;
  select r.state_rank, r.state, r.account_id into v_old_rank, v_old_state, v_account
    from graph_runs r where r.workflow_id = p_workflow_id for update;
  if not found or v_rank < v_old_rank or (v_rank = v_old_rank and v_rank <> 1) then
    return false;
  end if;
  update graph_runs r set
    state = p_state,
    state_rank = v_rank,
    version = r.version + 1,
    throttled_until = case when v_rank = 1 then p_throttled_until end,
    started_at = case when v_rank = 2 then coalesce(r.started_at, v_at) else r.started_at end,
    finished_at = case when v_rank = 3 then v_at end,
    error_code = case when v_rank = 3 then p_error_code end,
    error_message = case when v_rank = 3 then p_error_message end,
    sinks = case when v_rank = 3 then coalesce(p_sinks, '[]'::jsonb) else r.sinks end,
    failures = case when v_rank = 3 then coalesce(p_failures, '[]'::jsonb) else r.failures end,
    source_pixels = coalesce(p_source_pixels, r.source_pixels)
  where r.workflow_id = p_workflow_id
  returning r.version into v_version;
  if v_batch is not null then
    update batches b set change_count = b.change_count + 1 where b.id = v_batch
      returning b.change_count into v_change;
  end if;
  insert into graph_run_changes
      (workflow_id, run_version, batch_id, batch_change, from_state, state, at, throttled_until)
    values (p_workflow_id, v_version, v_batch, v_change, v_old_state, p_state, v_at,
      case when v_rank = 1 then p_throttled_until end);
  if v_old_rank < 2 and v_rank >= 2 and p_state not in ('cancelled', 'superseded') then
    insert into usage_hourly as u (account_id, hour, transforms)
      values (v_account, date_trunc('hour', v_at, 'UTC'), 1)
      on conflict (account_id, hour) do update set transforms = u.transforms + 1;
  end if;
  if v_rank = 3 then
    select coalesce(sum((s ->> 'bytes')::bigint), 0) into v_bytes
      from jsonb_array_elements(coalesce(p_sinks, '[]'::jsonb)) s;
    insert into usage_hourly as u
        (account_id, hour, succeeded, partial, failed, cancelled, megapixels_read, bytes_written)
      values (
        v_account, date_trunc('hour', v_at, 'UTC'),
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

-- As in 0008, and: the batch's row is locked first; its never-started graphs are cancelled before its own
-- end is logged, so the end is the last change of its stream.
create or replace function batch_finish(
  p_batch_id text,
  p_state text,
  p_at timestamptz
) returns void
language plpgsql volatile as $$
declare
  v_at timestamptz := coalesce(p_at, date_trunc('milliseconds', clock_timestamp()));
  v_workflow_id text;
  v_change integer;
begin
  perform 1 from batches where id = p_batch_id and state = 'running' for no key update;
  if not found then
    return;
  end if;
  if p_state = 'cancelled' then
    for v_workflow_id in
      select workflow_id from graph_runs where batch_id = p_batch_id and state_rank < 3 order by graph_index
    loop
      perform graph_run_advance(v_workflow_id, 'cancelled', v_at, null, 'cancelled',
        'The batch was cancelled before this graph ran', null, null, null);
    end loop;
  end if;
  update batches set state = p_state, finished_at = coalesce(finished_at, v_at),
      change_count = change_count + 1
    where id = p_batch_id
    returning change_count into v_change;
  insert into graph_run_changes (batch_id, batch_change, from_state, state, at)
    values (p_batch_id, v_change, 'running', p_state, v_at);
end
$$;

-- Rows written before this migration: each run that has moved gets one change from `queued` to where it
-- is now, and each batch that ended gets its end after its graphs', so their streams start complete.
update graph_runs set version = 1 where state <> 'queued';
insert into graph_run_changes
    (workflow_id, run_version, batch_id, batch_change, from_state, state, at, throttled_until)
  select workflow_id, 1, batch_id,
      case when batch_id is not null then row_number() over (partition by batch_id order by graph_index) end,
      'queued', state, coalesce(finished_at, started_at, created_at), throttled_until
    from graph_runs where state <> 'queued';
update batches b set change_count = moved.count
  from (select batch_id, count(*)::int as count from graph_run_changes group by batch_id) moved
  where moved.batch_id = b.id;
update batches set change_count = change_count + 1 where state <> 'running';
insert into graph_run_changes (batch_id, batch_change, from_state, state, at)
  select id, change_count, 'running', state, coalesce(finished_at, created_at) from batches where state <> 'running';
