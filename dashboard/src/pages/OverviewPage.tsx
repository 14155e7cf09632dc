/**
 * Overview: transforms in the current window against the throttle, the last 24 hours per hour, graphs
 * waiting on the throttle and when they start, recent failures with their codes, webhook delivery health.
 */
import { useQuery } from '@tanstack/react-query';
import type { BatchSummary, Webhook } from '@pixelshift/client';
import { client } from '../api';
import { DateTime, EmptyState, ErrorMessage, Loading, Mono, Num, Page, StateBadge } from '../components';
import { formatLocalDateTime, formatNumber, formatUtc, hourBars, type HourBar } from '../format';
import { useAccount, useRunningBatches, useUsage, waitingGraphs } from '../queries';
import { Link } from '../router';

export function OverviewPage() {
  const account = useAccount();
  const usage = useUsage();
  const running = useRunningBatches();
  const limit = account.data?.throttle.transformsPerHour;
  const thisHour = usage.data?.buckets.at(-1)?.transforms ?? 0;

  return (
    <Page title="Overview">
      <section aria-labelledby="window-title" className="card">
        <h2 id="window-title">This hour</h2>
        {account.error || usage.error ? (
          <ErrorMessage error={account.error ?? usage.error} />
        ) : limit === undefined || !usage.data ? (
          <Loading what="usage" />
        ) : (
          <>
            <p className="big">
              <Num value={thisHour} /> <span className="muted">of</span> <Num value={limit} />{' '}
              <span className="muted">transforms</span>
            </p>
            <meter
              aria-label="Transforms this hour against the throttle"
              min={0}
              max={limit}
              value={Math.min(thisHour, limit)}
              high={limit * 0.9}
            />
            <p className="hint">
              The throttle allows {formatNumber(limit)} transforms per hour;{' '}
              <Link to="/throttle">change it</Link>.
            </p>
          </>
        )}
      </section>

      <section aria-labelledby="chart-title" className="card">
        <h2 id="chart-title">Last 24 hours</h2>
        {usage.error ? (
          <ErrorMessage error={usage.error} />
        ) : !usage.data ? (
          <Loading what="usage" />
        ) : (
          <UsageChart
            bars={hourBars(usage.data.buckets, new Date())}
            waiting={running.data ? waitingGraphs(running.data.batches) : 0}
          />
        )}
      </section>

      <section aria-labelledby="waiting-title" className="card">
        <h2 id="waiting-title">Waiting on the throttle</h2>
        {running.error ? (
          <ErrorMessage error={running.error} />
        ) : !running.data ? (
          <Loading what="running batches" />
        ) : (
          <WaitingBatches batches={running.data.batches} />
        )}
      </section>

      <section aria-labelledby="failures-title" className="card">
        <h2 id="failures-title">Recent failures</h2>
        <RecentFailures />
      </section>

      <section aria-labelledby="deliveries-title" className="card">
        <h2 id="deliveries-title">Webhook deliveries</h2>
        <DeliveryHealth />
      </section>
    </Page>
  );
}

/** Succeeded and failed graphs per hour as SVG bars, with a table of the same figures for screen readers. */
function UsageChart({ bars, waiting }: { bars: HourBar[]; waiting: number }) {
  const total = bars.reduce((sum, bar) => sum + bar.succeeded + bar.failed, 0);
  const max = Math.max(1, ...bars.map((bar) => bar.succeeded + bar.failed));
  const width = 24 * 20;
  const height = 120;
  return (
    <figure className="chart">
      <svg
        viewBox={`0 0 ${width} ${height + 16}`}
        role="img"
        aria-label={`Graphs per hour over the last 24 hours: ${formatNumber(total)} in all`}
      >
        {bars.map((bar, i) => {
          const okHeight = (bar.succeeded / max) * height;
          const failedHeight = (bar.failed / max) * height;
          const x = i * 20 + 3;
          const hour = new Date(bar.start).getHours();
          return (
            <g key={bar.start}>
              <title>{`${formatLocalDateTime(bar.start)} (${formatUtc(bar.start)}): ${formatNumber(bar.succeeded)} succeeded, ${formatNumber(bar.failed)} failed`}</title>
              <rect x={x} y={height - okHeight} width={14} height={okHeight} className="bar-ok" />
              <rect
                x={x}
                y={height - okHeight - failedHeight}
                width={14}
                height={failedHeight}
                className="bar-failed"
              />
              {hour % 6 === 0 ? (
                <text x={x + 7} y={height + 13} textAnchor="middle" className="axis">
                  {String(hour).padStart(2, '0')}
                </text>
              ) : null}
            </g>
          );
        })}
        <line x1={0} x2={width} y1={height} y2={height} className="axis-line" />
      </svg>
      <figcaption>
        <span className="legend legend-ok">succeeded</span>{' '}
        <span className="legend legend-failed">failed or partial</span> · waiting now: <Num value={waiting} />
        {total === 0 ? (
          <>
            {' '}
            · no graph finished in the last 24 hours: submit a batch (see{' '}
            <Link to="/developer">Developer</Link>).
          </>
        ) : null}
      </figcaption>
    </figure>
  );
}

function WaitingBatches({ batches }: { batches: BatchSummary[] }) {
  const waiting = batches.filter((batch) => (batch.counts.throttled ?? 0) + (batch.counts.queued ?? 0) > 0);
  if (waiting.length === 0)
    return (
      <EmptyState title="Nothing is waiting">
        Graphs wait here when batches go beyond the throttle.
      </EmptyState>
    );
  return (
    <ul className="plain">
      {waiting.slice(0, 10).map((batch) => (
        <li key={batch.batchId}>
          <Link to={`/batches/${encodeURIComponent(batch.batchId)}`}>
            <Mono>{batch.batchId}</Mono>
          </Link>
          : <Num value={(batch.counts.throttled ?? 0) + (batch.counts.queued ?? 0)} /> waiting
          <ExpectedStart batchId={batch.batchId} />
        </li>
      ))}
    </ul>
  );
}

/** When the batch's last waiting graph is expected to start (from its status' throttle outlook). */
function ExpectedStart({ batchId }: { batchId: string }) {
  const status = useQuery({
    queryKey: ['batch', batchId],
    queryFn: ({ signal }) => client.batches.get(batchId, { signal }),
  });
  const at = status.data?.throttle?.expectedLastStartAt;
  if (!at) return null;
  return (
    <>
      {' '}
      — all started by <DateTime iso={at} />
    </>
  );
}

function RecentFailures() {
  const failed = useQuery({
    queryKey: ['batches', { state: 'failed', pageSize: 3 }],
    queryFn: ({ signal }) => client.batches.listPage({ state: 'failed', pageSize: 3, signal }),
  });
  const partial = useQuery({
    queryKey: ['batches', { state: 'partial', pageSize: 3 }],
    queryFn: ({ signal }) => client.batches.listPage({ state: 'partial', pageSize: 3, signal }),
  });
  if (failed.error || partial.error) return <ErrorMessage error={failed.error ?? partial.error} />;
  if (!failed.data || !partial.data) return <Loading what="failures" />;
  const batches = [...failed.data.batches, ...partial.data.batches]
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    .slice(0, 3);
  if (batches.length === 0)
    return <EmptyState title="No failures">Failed graphs show here with their error codes.</EmptyState>;
  return (
    <ul className="plain">
      {batches.map((batch) => (
        <li key={batch.batchId}>
          <Link to={`/batches/${encodeURIComponent(batch.batchId)}`}>
            <Mono>{batch.batchId}</Mono>
          </Link>{' '}
          <StateBadge state={batch.state} /> <DateTime iso={batch.finishedAt ?? batch.createdAt} />
          <FailureCodes batchId={batch.batchId} />
        </li>
      ))}
    </ul>
  );
}

function FailureCodes({ batchId }: { batchId: string }) {
  const graphs = useQuery({
    queryKey: ['batch-graphs', batchId, 'failed'],
    queryFn: ({ signal }) => client.batches.graphsPage(batchId, { state: 'failed', pageSize: 5, signal }),
  });
  if (!graphs.data) return null;
  const codes = new Map<string, number>();
  for (const graph of graphs.data.graphs) {
    const found = graph.error ? [graph.error.code] : graph.failures.map((failure) => failure.error.code);
    for (const code of found) codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  return (
    <ul className="codes">
      {[...codes].map(([code, count]) => (
        <li key={code}>
          <code className="error-code">{code}</code> × <Num value={count} />
        </li>
      ))}
    </ul>
  );
}

function DeliveryHealth() {
  const webhooks = useQuery({
    queryKey: ['webhooks'],
    queryFn: ({ signal }) => client.webhooks.list({ signal }),
  });
  if (webhooks.error) return <ErrorMessage error={webhooks.error} />;
  if (!webhooks.data) return <Loading what="webhooks" />;
  if (webhooks.data.length === 0)
    return (
      <EmptyState title="No webhook subscriptions">
        <Link to="/webhooks">Subscribe a URL</Link> to be told when graphs and batches finish.
      </EmptyState>
    );
  return (
    <ul className="plain">
      {webhooks.data.map((webhook) => (
        <DeliverySummary key={webhook.id} webhook={webhook} />
      ))}
    </ul>
  );
}

function DeliverySummary({ webhook }: { webhook: Webhook }) {
  const deliveries = useQuery({
    queryKey: ['deliveries', webhook.id, 'recent'],
    queryFn: ({ signal }) => client.webhooks.deliveries(webhook.id, { pageSize: 50, signal }),
  });
  const list = deliveries.data?.deliveries ?? [];
  const succeeded = list.filter((d) => d.state === 'succeeded').length;
  const failed = list.filter(
    (d) => d.state === 'failed' || d.state === 'refused' || d.state === 'disabled',
  ).length;
  return (
    <li>
      <span className="url">{webhook.url}</span> {webhook.enabled ? null : <StateBadge state="disabled" />}
      {deliveries.data ? (
        <span className="muted">
          {' '}
          — last {formatNumber(list.length)} deliveries: {formatNumber(succeeded)} succeeded,{' '}
          {formatNumber(failed)} failed
        </span>
      ) : null}
    </li>
  );
}
