/** Batches: the account's batches, newest first, filtered by state, searched by id, page by page. */
import { useQuery } from '@tanstack/react-query';
import type { ListBatchesQuery } from '@pixelshift/client';
import { useState, type FormEvent } from 'react';
import { client } from '../api';
import { DateTime, EmptyState, ErrorMessage, Loading, Mono, Num, Page, StateBadge } from '../components';
import { Link } from '../router';

export const batchStates = ['running', 'succeeded', 'partial', 'failed', 'cancelled'] as const;
const pageSize = 25;

export function BatchesPage() {
  const [state, setState] = useState<ListBatchesQuery['state'] | ''>('');
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  // The tokens of the pages before the current one, to go back.
  const [tokens, setTokens] = useState<(string | undefined)[]>([undefined]);
  const pageToken = tokens.at(-1);
  const query = {
    ...(state ? { state } : {}),
    ...(q ? { q } : {}),
    pageSize,
    ...(pageToken ? { pageToken } : {}),
  };
  const batches = useQuery({
    queryKey: ['batches', query],
    queryFn: ({ signal }) => client.batches.listPage({ ...query, signal }),
    refetchInterval: 15_000,
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    // Batch ids are lower case; a pasted upper-case id still finds its batch.
    setQ(search.trim().toLowerCase());
    setTokens([undefined]);
  };

  return (
    <Page title="Batches">
      <form className="filters" onSubmit={submit} role="search" aria-label="Filter batches">
        <div className="field">
          <label htmlFor="batch-state">State</label>
          <select
            id="batch-state"
            value={state}
            onChange={(event) => {
              setState(event.target.value as ListBatchesQuery['state'] | '');
              setTokens([undefined]);
            }}
          >
            <option value="">All states</option>
            {batchStates.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="batch-search">Batch id</label>
          <input
            id="batch-search"
            type="search"
            placeholder="An id or its start"
            value={search}
            onChange={(event) => setSearch(event.target.value)}
          />
        </div>
        <button type="submit">Search</button>
      </form>
      {batches.isPending ? (
        <Loading what="batches" />
      ) : batches.error ? (
        <ErrorMessage error={batches.error} />
      ) : batches.data.batches.length === 0 ? (
        <EmptyState title={state || q ? 'No batch matches' : 'No batches yet'}>
          {state || q ? (
            'Try another state or id.'
          ) : (
            <>
              Submit one with <code>POST /v1/batches</code> (examples on the{' '}
              <Link to="/developer">Developer</Link> page).
            </>
          )}
        </EmptyState>
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Batches table">
          <table>
            <caption className="visually-hidden">Batches</caption>
            <thead>
              <tr>
                <th scope="col">Batch</th>
                <th scope="col">State</th>
                <th scope="col">Graphs</th>
                <th scope="col">Created</th>
                <th scope="col">Finished</th>
              </tr>
            </thead>
            <tbody>
              {batches.data.batches.map((batch) => (
                <tr key={batch.batchId}>
                  <td>
                    <Link to={`/batches/${encodeURIComponent(batch.batchId)}`}>
                      <Mono>{batch.batchId}</Mono>
                    </Link>
                    {batch.retryOf ? (
                      <span className="muted">
                        {' '}
                        retry of <Mono>{batch.retryOf}</Mono>
                      </span>
                    ) : null}
                  </td>
                  <td>
                    <StateBadge state={batch.state} />
                  </td>
                  <td>
                    <Counts counts={batch.counts} />
                  </td>
                  <td>
                    <DateTime iso={batch.createdAt} />
                  </td>
                  <td>
                    <DateTime iso={batch.finishedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav className="pager" aria-label="Pages of batches">
        <button
          type="button"
          className="secondary"
          disabled={tokens.length <= 1}
          onClick={() => setTokens(tokens.slice(0, -1))}
        >
          Previous page
        </button>
        <button
          type="button"
          className="secondary"
          disabled={!batches.data?.nextPageToken}
          onClick={() => setTokens([...tokens, batches.data?.nextPageToken ?? undefined])}
        >
          Next page
        </button>
      </nav>
    </Page>
  );
}

/** A batch's graph counts, the non-zero ones. */
export function Counts({ counts }: { counts: Record<string, number | undefined> }) {
  const entries = Object.entries(counts).filter(([, n]) => (n ?? 0) > 0);
  if (entries.length === 0) return <span className="muted">—</span>;
  return (
    <span className="counts">
      {entries.map(([state, n], i) => (
        <span key={state}>
          {i > 0 ? ', ' : ''}
          <Num value={n} /> {state}
        </span>
      ))}
    </span>
  );
}
