-- How a batch runs its graphs (issue 14, PIXELSHIFT_BATCH_GRAPHS, docs/decisions.md): `children`, a child
-- workflow per graph, or `activities`, an imaging activity of the batch per graph. Recorded with the
-- batch, because a deployment may change the setting while older batches still run: a graph's Temporal
-- UI link names its own execution for the first shape and its batch's for the second.
alter table batches add column graphs_as text not null default 'children'
  check (graphs_as in ('children', 'activities'));
