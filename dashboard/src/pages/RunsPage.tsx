/** Runs started by bucket events and inbound hooks: the filters of `GET /v1/events/s3/runs`, the triggering object, the outputs. */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { ListRunsData, RunSummary } from '@pixelshift/client';
import { useEffect, useState, type FormEvent } from 'react';
import { client, isUnauthorized, signedOut } from '../api';
import {
  Bytes,
  DateTime,
  EmptyState,
  ErrorMessage,
  Loading,
  Mono,
  Num,
  Page,
  StateBadge,
} from '../components';
import { Link } from '../router';

type RunQuery = NonNullable<ListRunsData['query']>;
export const graphStates = [
  'queued',
  'throttled',
  'running',
  'succeeded',
  'partial',
  'failed',
  'cancelled',
  'superseded',
] as const;
const finalStates: ReadonlySet<string> = new Set([
  'succeeded',
  'partial',
  'failed',
  'cancelled',
  'superseded',
]);
const pageSize = 25;

/** A datetime-local value (the viewer's time) as an ISO instant; undefined when empty or invalid. */
function isoOf(local: string): string | undefined {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function RunsPage() {
  const [form, setForm] = useState({ trigger: '', rule: '', hook: '', state: '', since: '', until: '' });
  const [filters, setFilters] = useState<Omit<RunQuery, 'pageToken' | 'pageSize'>>({});
  const [tokens, setTokens] = useState<(string | undefined)[]>([undefined]);
  const pageToken = tokens.at(-1);
  const query: RunQuery = { ...filters, pageSize, ...(pageToken ? { pageToken } : {}) };
  const runs = useQuery({
    queryKey: ['runs', query],
    queryFn: ({ signal }) => client.runs.listPage({ ...query, signal }),
    refetchInterval: 15_000,
  });
  const rules = useQuery({ queryKey: ['rules'], queryFn: ({ signal }) => client.rules.list({ signal }) });
  const hooks = useQuery({ queryKey: ['hooks'], queryFn: ({ signal }) => client.hooks.list({ signal }) });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const since = isoOf(form.since);
    const until = isoOf(form.until);
    setFilters({
      ...(form.trigger ? { trigger: form.trigger as RunQuery['trigger'] } : {}),
      ...(form.rule ? { rule: form.rule } : {}),
      ...(form.hook ? { hook: form.hook } : {}),
      ...(form.state ? { state: form.state as RunQuery['state'] } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
    });
    setTokens([undefined]);
  };
  const set = (name: keyof typeof form) => (event: { target: { value: string } }) =>
    setForm({ ...form, [name]: event.target.value });

  return (
    <Page title="Runs">
      <p className="lead">
        Runs are started by files landing in a bucket (Rules) and by calls to Inbound hooks.
      </p>
      <form className="filters" onSubmit={submit} role="search" aria-label="Filter runs">
        <div className="field">
          <label htmlFor="runs-trigger">Trigger</label>
          <select id="runs-trigger" value={form.trigger} onChange={set('trigger')}>
            <option value="">Any trigger</option>
            <option value="s3">Bucket event</option>
            <option value="webhook">Inbound hook</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="runs-rule">Rule</label>
          <select id="runs-rule" value={form.rule} onChange={set('rule')}>
            <option value="">Any rule</option>
            {(rules.data ?? []).map((rule) => (
              <option key={rule.ruleId} value={rule.ruleId}>
                {rule.name ?? rule.ruleId}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="runs-hook">Inbound hook</label>
          <select id="runs-hook" value={form.hook} onChange={set('hook')}>
            <option value="">Any hook</option>
            {(hooks.data ?? []).map((hook) => (
              <option key={hook.hookId} value={hook.hookId}>
                {hook.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="runs-state">State</label>
          <select id="runs-state" value={form.state} onChange={set('state')}>
            <option value="">Any state</option>
            {graphStates.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="runs-since">Since</label>
          <input id="runs-since" type="datetime-local" value={form.since} onChange={set('since')} />
        </div>
        <div className="field">
          <label htmlFor="runs-until">Until</label>
          <input id="runs-until" type="datetime-local" value={form.until} onChange={set('until')} />
        </div>
        <button type="submit">Apply filters</button>
      </form>
      {runs.isPending ? (
        <Loading what="runs" />
      ) : runs.error ? (
        <ErrorMessage error={runs.error} />
      ) : runs.data.runs.length === 0 ? (
        <EmptyState title={Object.keys(filters).length ? 'No run matches' : 'No runs yet'}>
          {Object.keys(filters).length ? (
            'Try other filters.'
          ) : (
            <>
              Create a <Link to="/rules">rule</Link> and drop a file into its bucket, or call an{' '}
              <Link to="/hooks">inbound hook</Link>.
            </>
          )}
        </EmptyState>
      ) : (
        <ul className="runs plain">
          {runs.data.runs.map((run) => (
            <RunItem key={run.runId} run={run} />
          ))}
        </ul>
      )}
      <nav className="pager" aria-label="Pages of runs">
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
          disabled={!runs.data?.nextPageToken}
          onClick={() => setTokens([...tokens, runs.data?.nextPageToken])}
        >
          Next page
        </button>
      </nav>
    </Page>
  );
}

function RunItem({ run }: { run: RunSummary }) {
  const [open, setOpen] = useState(false);
  return (
    <li className="card run">
      <p>
        <span className="key" title="The triggering object">
          {run.source}
        </span>{' '}
        <StateBadge state={run.state} />
      </p>
      <p className="muted">
        {run.trigger === 's3' ? 'bucket event' : 'inbound hook'}
        {run.ruleId ? (
          <>
            {' '}
            · rule <Mono>{run.ruleId}</Mono>
          </>
        ) : null}
        {run.hookId ? (
          <>
            {' '}
            · hook <Mono>{run.hookId}</Mono>
          </>
        ) : null}{' '}
        · started <DateTime iso={run.startedAt} />
        {run.closedAt ? (
          <>
            {' '}
            · closed <DateTime iso={run.closedAt} />
          </>
        ) : null}
        {run.temporalUiUrl ? (
          <>
            {' '}
            ·{' '}
            <a
              href={run.temporalUiUrl}
              target="_blank"
              rel="noreferrer"
              aria-label={`Workflow of run ${run.source} in the Temporal UI`}
            >
              Temporal UI
            </a>
          </>
        ) : null}
      </p>
      <button type="button" className="secondary" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? 'Hide outputs' : 'Show outputs'}
      </button>
      {open ? <RunDetails runId={run.runId} /> : null}
    </li>
  );
}

/** A run's outputs and errors, followed live while it has not ended. */
function RunDetails({ runId }: { runId: string }) {
  const queryClient = useQueryClient();
  const run = useQuery({
    queryKey: ['run', runId],
    queryFn: ({ signal }) => client.runs.get(runId, { signal }),
  });
  const running = run.data ? !finalStates.has(run.data.state) : false;
  useEffect(() => {
    if (!running) return;
    const stop = new AbortController();
    client.runs
      .wait(runId, {
        signal: stop.signal,
        onProgress: () => void queryClient.invalidateQueries({ queryKey: ['run', runId] }),
      })
      .then(
        () => {
          void queryClient.invalidateQueries({ queryKey: ['run', runId] });
          void queryClient.invalidateQueries({ queryKey: ['runs'] });
        },
        (error: unknown) => {
          if (isUnauthorized(error)) signedOut();
        },
      );
    return () => stop.abort();
  }, [runId, running, queryClient]);
  if (run.isPending) return <Loading what="the run" />;
  if (run.error) return <ErrorMessage error={run.error} />;
  const { sinks, failures, error } = run.data;
  return (
    <div className="run-details">
      {error ? (
        <p className="error-line">
          <code className="error-code">{error.code}</code> {error.message}
        </p>
      ) : null}
      {sinks.length === 0 && failures.length === 0 && !error ? <p className="muted">No output yet.</p> : null}
      {sinks.length > 0 ? (
        <ul>
          {sinks.map((sink) => (
            <li key={`${sink.bucket}/${sink.key}`}>
              <span className="key">
                {sink.bucket}/{sink.key}
              </span>{' '}
              {sink.format}, <Num value={sink.width} />×<Num value={sink.height} />,{' '}
              <Bytes value={sink.bytes} />
            </li>
          ))}
        </ul>
      ) : null}
      {failures.length > 0 ? (
        <ul className="failures">
          {failures.map((failure) => (
            <li key={`${failure.bucket}/${failure.key}`}>
              {failure.bucket}/{failure.key}: <code className="error-code">{failure.error.code}</code>{' '}
              {failure.error.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
