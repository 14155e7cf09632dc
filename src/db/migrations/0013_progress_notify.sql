-- Live progress streams are woken when the change log moves (src/db/progress-signal.ts): every statement
-- that adds to it sends one NOTIFY, delivered when its transaction commits, to the API processes that
-- LISTEN on PostgreSQL. The notice carries nothing (the streams read the log itself), so a transaction's
-- notices fold into one. On PGlite nobody listens, and the notice costs next to nothing.
create or replace function graph_run_changes_notify() returns trigger
language plpgsql as $$
begin
  perform pg_notify('pixelshift_progress', '');
  return null;
end
$$;

create trigger graph_run_changes_notify after insert on graph_run_changes
  for each statement execute function graph_run_changes_notify();
