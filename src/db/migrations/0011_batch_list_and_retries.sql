-- The dashboard's batch list and "retry failed graphs" (issue 13, docs/architecture.md §7).
--
-- `seq`: an immutable insertion number, the key of keyset paging (newest first), as graph_runs.seq is
-- for runs: a batch that changes state while a client pages moves no row from one page to another.
-- Existing batches are numbered in creation order, then the column becomes an identity that continues
-- after them.
alter table batches add column seq bigint;
update batches b set seq = o.n
  from (select id, row_number() over (order by created_at, id) as n from batches) o
  where o.id = b.id;
alter table batches alter column seq set not null;
alter table batches alter column seq add generated always as identity;
select setval(pg_get_serial_sequence('batches', 'seq'), coalesce((select max(seq) from batches), 0) + 1, false);
create unique index batches_seq_idx on batches (seq);

-- The batch whose failed graphs this batch retries (POST /v1/batches/{id}/retry-failed). The original
-- may be deleted later (retention); the retry then stays, without its link.
alter table batches add column retry_of text references batches (id) on delete set null;

-- GET /v1/batches: an account's batches newest first, optionally in one state, or by id prefix
-- (text_pattern_ops lets `id like 'b_06h%'` use the index whatever the database's collation).
create index batches_account_seq_idx on batches (account_id, seq);
create index batches_account_state_seq_idx on batches (account_id, state, seq);
create index batches_account_id_prefix_idx on batches (account_id, id text_pattern_ops);
