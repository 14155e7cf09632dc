/** Throttle: the transforms-per-hour setting (1 to 1 000 000), current usage, the effect of a change. */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { client } from '../api';
import { ErrorMessage, Loading, Num, Page } from '../components';
import { formatDuration, formatNumber } from '../format';
import { useAccount, useRunningBatches, useUsage, waitingGraphs } from '../queries';

export const maxTransformsPerHour = 1_000_000;

export function ThrottlePage() {
  const queryClient = useQueryClient();
  const account = useAccount();
  const usage = useUsage();
  const running = useRunningBatches();
  const [draft, setDraft] = useState('');
  const [saved, setSaved] = useState(false);
  const save = useMutation({
    mutationFn: (transformsPerHour: number) => client.account.setThrottle({ transformsPerHour }),
    onSuccess: () => {
      setSaved(true);
      setDraft('');
      void queryClient.invalidateQueries({ queryKey: ['account'] });
      void queryClient.invalidateQueries({ queryKey: ['batches'] });
    },
  });

  if (account.isPending)
    return (
      <Page title="Throttle">
        <Loading what="the throttle" />
      </Page>
    );
  if (account.error)
    return (
      <Page title="Throttle">
        <ErrorMessage error={account.error} />
      </Page>
    );

  const current = account.data.throttle.transformsPerHour;
  const value = draft === '' ? current : Number(draft);
  const valid = Number.isInteger(value) && value >= 1 && value <= maxTransformsPerHour;
  const thisHour = usage.data?.buckets.at(-1)?.transforms;
  const waiting = running.data ? waitingGraphs(running.data.batches) : undefined;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    if (valid) save.mutate(value);
  };

  return (
    <Page title="Throttle">
      <p className="lead">
        At most this many transforms start per {formatDuration(account.data.throttle.windowSeconds * 1000)}{' '}
        window; graphs beyond it wait (state <em>throttled</em>) and start as the window frees up. A change
        applies at once, also to graphs already waiting.
      </p>
      <dl className="figures">
        <div>
          <dt>Current setting</dt>
          <dd>
            <Num value={current} /> transforms per hour
          </dd>
        </div>
        <div>
          <dt>Transforms this hour</dt>
          <dd>{usage.error ? 'unavailable' : <Num value={thisHour} />}</dd>
        </div>
        <div>
          <dt>Graphs waiting</dt>
          <dd>{running.error ? 'unavailable' : <Num value={waiting} />}</dd>
        </div>
      </dl>
      <form className="inline-form" onSubmit={submit}>
        <label htmlFor="throttle-value">Transforms per hour</label>
        <input
          id="throttle-value"
          type="number"
          inputMode="numeric"
          min={1}
          max={maxTransformsPerHour}
          step={1}
          required
          aria-describedby="throttle-rules throttle-effect"
          value={draft === '' ? String(current) : draft}
          onChange={(event) => {
            setSaved(false);
            setDraft(event.target.value);
          }}
        />
        <button type="submit" disabled={save.isPending || !valid}>
          Save throttle
        </button>
      </form>
      <p id="throttle-rules" className="hint">
        A whole number from 1 to {formatNumber(maxTransformsPerHour)}. Change it whenever and as often as you
        like.
      </p>
      <p id="throttle-effect" className="hint" aria-live="polite">
        {!valid
          ? `Enter a whole number from 1 to ${formatNumber(maxTransformsPerHour)}.`
          : waiting === undefined || waiting === 0
            ? 'No graph is waiting now: a change affects the next batches.'
            : `With ${formatNumber(value)} per hour, the ${formatNumber(waiting)} waiting graphs start within about ${formatDuration(
                (Math.max(0, waiting - Math.max(0, value - (thisHour ?? 0))) / value) * 3_600_000,
              )} (if each has one transform).`}
      </p>
      {saved ? (
        <p className="success" role="status">
          Saved: <Num value={current} /> transforms per hour.
        </p>
      ) : null}
      <ErrorMessage error={save.error} title="The throttle was not changed" />
    </Page>
  );
}
