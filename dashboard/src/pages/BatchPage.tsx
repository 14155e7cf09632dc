/**
 * One batch: counts, each graph's state and sinks (bucket, key, format, size, bytes), error codes,
 * thumbnails, links to the Temporal UI, cancel and "Retry failed graphs"; live through the event stream.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { BatchStatus, GraphOutcome } from '@pixelshift/client';
import { useEffect, useRef, useState } from 'react';
import { client, isUnauthorized, signedOut } from '../api';
import {
  Bytes,
  ConfirmButton,
  DateTime,
  EmptyState,
  ErrorMessage,
  Loading,
  Mono,
  Num,
  Page,
  StateBadge,
} from '../components';
import { Link, navigate } from '../router';
import { Counts } from './BatchesPage';

export function BatchPage({ batchId }: { batchId: string }) {
  const queryClient = useQueryClient();
  const status = useQuery({
    queryKey: ['batch', batchId],
    queryFn: ({ signal }) => client.batches.get(batchId, { signal }),
  });
  const graphs = useQuery({
    queryKey: ['batch-graphs', batchId, 'all'],
    queryFn: async ({ signal }) => {
      const all: GraphOutcome[] = [];
      for await (const graph of client.batches.graphs(batchId, { pageSize: 100, signal })) all.push(graph);
      return all;
    },
  });
  const live = useLiveBatch(batchId, status.data?.state === 'running');
  const cancel = useMutation({
    mutationFn: () => client.batches.cancel(batchId),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['batch', batchId] }),
  });
  const retry = useMutation({
    mutationFn: () => client.batches.retryFailed(batchId),
    onSuccess: (started) => {
      void queryClient.invalidateQueries({ queryKey: ['batches'] });
      navigate(`/batches/${encodeURIComponent(started.batchId)}`);
    },
  });

  if (status.isPending)
    return (
      <Page title="Batch">
        <Loading what="the batch" />
      </Page>
    );
  if (status.error)
    return (
      <Page title="Batch">
        <ErrorMessage error={status.error} />
        <p>
          <Link to="/batches">Back to the batches</Link>
        </p>
      </Page>
    );
  const batch = status.data;
  const failedCount = (batch.counts.failed ?? 0) + (batch.counts.partial ?? 0);

  return (
    <Page
      title="Batch"
      actions={
        <>
          {batch.state === 'running' ? (
            <ConfirmButton
              label="Cancel batch"
              title="Cancel this batch?"
              message={<p>Graphs not finished yet stop; outputs already written stay.</p>}
              confirmLabel="Yes, cancel it"
              onConfirm={() => cancel.mutate()}
              disabled={cancel.isPending}
            />
          ) : null}
          {batch.state !== 'running' && failedCount > 0 ? (
            <ConfirmButton
              label="Retry failed graphs"
              className="primary"
              title="Retry the failed graphs?"
              message={
                <p>
                  A new batch of the <Num value={failedCount} /> failed graphs starts, linked to this one. It
                  counts against the throttle.
                </p>
              }
              confirmLabel="Yes, start the retry"
              onConfirm={() => retry.mutate()}
              disabled={retry.isPending}
            />
          ) : null}
        </>
      }
    >
      <p>
        <Mono>{batch.batchId}</Mono> <StateBadge state={batch.state} />{' '}
        {batch.state === 'running' ? (
          <span className="muted" role="status">
            {live.connected ? 'live' : 'connecting…'}
          </span>
        ) : null}
      </p>
      <ErrorMessage error={cancel.error} title="The batch was not cancelled" />
      <ErrorMessage error={retry.error} title="The retry was not started" />
      <ErrorMessage error={live.error} title="Live updates stopped" />
      <Summary batch={batch} />
      <h2>Graphs</h2>
      {graphs.isPending ? (
        <Loading what="graphs" />
      ) : graphs.error ? (
        <ErrorMessage error={graphs.error} />
      ) : graphs.data.length === 0 ? (
        <EmptyState title="No graph has an outcome yet">They show here as the batch runs.</EmptyState>
      ) : (
        <ol className="graphs" start={0}>
          {graphs.data.map((graph) => (
            <GraphCard key={graph.index} batchId={batchId} graph={graph} />
          ))}
        </ol>
      )}
    </Page>
  );
}

function Summary({ batch }: { batch: BatchStatus }) {
  return (
    <dl className="figures">
      <div>
        <dt>Graphs</dt>
        <dd>
          <Num value={batch.graphCount} />
        </dd>
      </div>
      <div>
        <dt>Counts</dt>
        <dd>
          <Counts counts={batch.counts} />
        </dd>
      </div>
      <div>
        <dt>Created</dt>
        <dd>
          <DateTime iso={batch.createdAt} />
        </dd>
      </div>
      <div>
        <dt>Finished</dt>
        <dd>
          <DateTime iso={batch.finishedAt} />
        </dd>
      </div>
      {batch.throttle?.expectedLastStartAt ? (
        <div>
          <dt>Last waiting graph starts</dt>
          <dd>
            <DateTime iso={batch.throttle.expectedLastStartAt} />
          </dd>
        </div>
      ) : null}
      {batch.temporalUiUrl ? (
        <div>
          <dt>Workflow</dt>
          <dd>
            <a href={batch.temporalUiUrl} target="_blank" rel="noreferrer">
              Batch workflow in the Temporal UI
            </a>
          </dd>
        </div>
      ) : null}
      {'retryOf' in batch && typeof batch.retryOf === 'string' ? (
        <div>
          <dt>Retry of</dt>
          <dd>
            <Link to={`/batches/${encodeURIComponent(batch.retryOf)}`}>
              <Mono>{batch.retryOf}</Mono>
            </Link>
          </dd>
        </div>
      ) : null}
    </dl>
  );
}

function GraphCard({ batchId, graph }: { batchId: string; graph: GraphOutcome }) {
  return (
    <li className="graph card" aria-label={`Graph ${graph.index}`}>
      <p className="graph-head">
        <strong>Graph {graph.index}</strong> <StateBadge state={graph.state} />
        {graph.throttledUntil ? (
          <span className="muted">
            {' '}
            waits until <DateTime iso={graph.throttledUntil} />
          </span>
        ) : null}
        {graph.temporalUiUrl ? (
          <>
            {' '}
            <a
              href={graph.temporalUiUrl}
              target="_blank"
              rel="noreferrer"
              aria-label={`Graph ${graph.index} in the Temporal UI`}
            >
              Temporal UI
            </a>
          </>
        ) : null}
      </p>
      {graph.error ? (
        <p className="error-line">
          <code className="error-code">{graph.error.code}</code> {graph.error.message}
        </p>
      ) : null}
      {graph.sinks.length > 0 ? (
        <div
          className="table-wrap"
          tabIndex={0}
          role="region"
          aria-label={`Outputs of graph ${graph.index} table`}
        >
          <table>
            <caption className="visually-hidden">Outputs of graph {graph.index}</caption>
            <thead>
              <tr>
                <th scope="col">Preview</th>
                <th scope="col">Bucket</th>
                <th scope="col">Key</th>
                <th scope="col">Format</th>
                <th scope="col">Size</th>
                <th scope="col">Bytes</th>
              </tr>
            </thead>
            <tbody>
              {graph.sinks.map((sink, outputIndex) => (
                <tr key={`${sink.storage}/${sink.bucket}/${sink.key}`}>
                  <td>
                    <Thumbnail
                      src={client.batches.thumbnailUrl(batchId, graph.index, outputIndex, 128)}
                      alt={`Preview of ${sink.key}`}
                    />
                  </td>
                  <td>{sink.bucket}</td>
                  <td className="key">{sink.key}</td>
                  <td>{sink.format}</td>
                  <td>
                    <Num value={sink.width} />×<Num value={sink.height} />
                  </td>
                  <td>
                    <Bytes value={sink.bytes} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {graph.failures.length > 0 ? (
        <ul className="failures">
          {graph.failures.map((failure) => (
            <li key={`${failure.bucket}/${failure.key}`}>
              {failure.bucket}/{failure.key}: <code className="error-code">{failure.error.code}</code>{' '}
              {failure.error.message}
            </li>
          ))}
        </ul>
      ) : null}
    </li>
  );
}

/** A written output's preview; a short note instead when the server has none (deleted object, not an image). */
function Thumbnail({ src, alt }: { src: string; alt: string }) {
  const [failed, setFailed] = useState(false);
  if (failed) return <span className="muted">no preview</span>;
  return <img className="thumb" src={src} alt={alt} width={64} height={64} onError={() => setFailed(true)} />;
}

/**
 * Follows the batch's event stream while it runs (the SDK reconnects, and polls when streaming fails):
 * each change refetches the status and the graphs, so the page updates without a reload.
 */
function useLiveBatch(batchId: string, running: boolean): { connected: boolean; error: unknown } {
  const queryClient = useQueryClient();
  const [connected, setConnected] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => {
    if (!running) return;
    const stop = new AbortController();
    const refresh = () => {
      // Many graphs can change at once: one refetch for a burst of events.
      clearTimeout(timer.current);
      timer.current = setTimeout(() => {
        void queryClient.invalidateQueries({ queryKey: ['batch', batchId] });
        void queryClient.invalidateQueries({ queryKey: ['batch-graphs', batchId] });
      }, 300);
    };
    client.batches
      .wait(batchId, {
        signal: stop.signal,
        onProgress: () => {
          setConnected(true);
          refresh();
        },
      })
      .then(
        () => {
          void queryClient.invalidateQueries({ queryKey: ['batch', batchId] });
          void queryClient.invalidateQueries({ queryKey: ['batch-graphs', batchId] });
        },
        (failure: unknown) => {
          if (stop.signal.aborted) return;
          if (isUnauthorized(failure)) signedOut();
          else setError(failure);
        },
      );
    setConnected(true);
    return () => {
      stop.abort();
      clearTimeout(timer.current);
    };
  }, [batchId, running, queryClient]);
  return { connected, error };
}
