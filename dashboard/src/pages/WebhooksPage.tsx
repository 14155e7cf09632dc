/** Webhooks: subscriptions, their delivery logs (status, latency, error), redeliver, rotate the secret, send a test. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { CreateWebhookRequest, Webhook } from '@pixelshift/client';
import { useState, type FormEvent } from 'react';
import { client } from '../api';
import {
  ConfirmButton,
  DateTime,
  EmptyState,
  ErrorMessage,
  Loading,
  Mono,
  Num,
  Page,
  SecretOnce,
  StateBadge,
} from '../components';
import { formatDuration } from '../format';

export const webhookEvents = ['graph.succeeded', 'graph.failed', 'batch.completed'] as const;
type EventName = (typeof webhookEvents)[number];

export function WebhooksPage() {
  const queryClient = useQueryClient();
  const webhooks = useQuery({
    queryKey: ['webhooks'],
    queryFn: ({ signal }) => client.webhooks.list({ signal }),
  });
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<EventName[]>([...webhookEvents]);
  const [secret, setSecret] = useState<{ url: string; secret: string } | null>(null);
  const invalidate = () => queryClient.invalidateQueries({ queryKey: ['webhooks'] });
  const create = useMutation({
    mutationFn: (request: CreateWebhookRequest) => client.webhooks.create(request),
    onSuccess: (created) => {
      setSecret({ url: created.url, secret: created.secret });
      setUrl('');
      void invalidate();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ url: url.trim(), events });
  };

  return (
    <Page title="Webhooks">
      <p className="lead">Subscribed URLs receive signed events when graphs and batches finish.</p>
      <form className="card" onSubmit={submit} aria-label="New subscription">
        <h2>New subscription</h2>
        <SubscriptionFields
          idPrefix="webhook"
          url={url}
          events={events}
          onUrl={setUrl}
          onEvents={setEvents}
        />
        <button type="submit" disabled={create.isPending || events.length === 0}>
          Subscribe
        </button>
        <ErrorMessage error={create.error} title="The subscription was not created" />
      </form>
      {secret ? (
        <SecretOnce
          label="Signing secret"
          secret={secret.secret}
          extra={<p>For {secret.url}: verify each delivery's signature with it.</p>}
          onDismiss={() => setSecret(null)}
        />
      ) : null}
      <h2>Subscriptions</h2>
      {webhooks.isPending ? (
        <Loading what="subscriptions" />
      ) : webhooks.error ? (
        <ErrorMessage error={webhooks.error} />
      ) : webhooks.data.length === 0 ? (
        <EmptyState title="No subscriptions yet">
          Subscribe an endpoint URL above, then send it a test event.
        </EmptyState>
      ) : (
        <ul className="plain">
          {webhooks.data.map((webhook) => (
            <Subscription
              key={webhook.id}
              webhook={webhook}
              onSecret={(s) => setSecret({ url: webhook.url, secret: s })}
            />
          ))}
        </ul>
      )}
    </Page>
  );
}

/** The endpoint URL and the event choice, shared by the new-subscription form and the edit form. */
function SubscriptionFields(props: {
  idPrefix: string;
  url: string;
  events: readonly EventName[];
  onUrl: (url: string) => void;
  onEvents: (events: EventName[]) => void;
}) {
  const { idPrefix, url, events, onUrl, onEvents } = props;
  return (
    <>
      <div className="field">
        <label htmlFor={`${idPrefix}-url`}>Endpoint URL</label>
        <input
          id={`${idPrefix}-url`}
          type="url"
          required
          placeholder="https://example.com/pixelshift-events"
          value={url}
          onChange={(event) => onUrl(event.target.value)}
        />
      </div>
      <fieldset>
        <legend>Events</legend>
        {webhookEvents.map((name) => (
          <div className="checkbox" key={name}>
            <input
              id={`${idPrefix}-event-${name}`}
              type="checkbox"
              checked={events.includes(name)}
              onChange={(event) =>
                onEvents(event.target.checked ? [...events, name] : events.filter((e) => e !== name))
              }
            />
            <label htmlFor={`${idPrefix}-event-${name}`}>{name}</label>
          </div>
        ))}
      </fieldset>
    </>
  );
}

/** Changes a subscription's URL and events in place; enabling and disabling stay on the row's checkbox. */
function EditSubscription({ webhook, onDone }: { webhook: Webhook; onDone: () => void }) {
  const queryClient = useQueryClient();
  const [url, setUrl] = useState(webhook.url);
  const [events, setEvents] = useState<EventName[]>(
    webhookEvents.filter((name) => (webhook.events as readonly string[]).includes(name)),
  );
  const save = useMutation({
    mutationFn: () => client.webhooks.update(webhook.id, { url: url.trim(), events }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ['webhooks'] });
      onDone();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  return (
    <form onSubmit={submit} aria-label={`Edit subscription ${webhook.url}`}>
      <SubscriptionFields
        idPrefix={`webhook-edit-${webhook.id}`}
        url={url}
        events={events}
        onUrl={setUrl}
        onEvents={setEvents}
      />
      <div className="row-actions">
        <button type="submit" disabled={save.isPending || events.length === 0}>
          Save changes
        </button>
        <button type="button" className="secondary" onClick={onDone}>
          Cancel
        </button>
      </div>
      <ErrorMessage error={save.error} title="The subscription was not changed" />
    </form>
  );
}

function Subscription({ webhook, onSecret }: { webhook: Webhook; onSecret: (secret: string) => void }) {
  const queryClient = useQueryClient();
  const [showLog, setShowLog] = useState(false);
  const [editing, setEditing] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const invalidate = () => queryClient.invalidateQueries({ queryKey: ['webhooks'] });
  const toggle = useMutation({
    mutationFn: (enabled: boolean) => client.webhooks.update(webhook.id, { enabled }),
    onSettled: invalidate,
  });
  const remove = useMutation({ mutationFn: () => client.webhooks.delete(webhook.id), onSettled: invalidate });
  const rotate = useMutation({
    mutationFn: () => client.webhooks.rotateSecret(webhook.id),
    onSuccess: (rotated) => {
      onSecret(rotated.secret);
      void invalidate();
    },
  });
  const test = useMutation({
    mutationFn: () => client.webhooks.sendTest(webhook.id),
    onSuccess: () => {
      setNotice('Test event sent: it shows in the delivery log.');
      setShowLog(true);
      void queryClient.invalidateQueries({ queryKey: ['deliveries', webhook.id] });
    },
  });
  const error = toggle.error ?? remove.error ?? rotate.error ?? test.error;

  return (
    <li className="card">
      <p>
        <code className="url">{webhook.url}</code>{' '}
        <StateBadge state={webhook.enabled ? 'enabled' : 'disabled'} />
      </p>
      <p className="muted">
        {webhook.events.join(', ')} · <Mono>{webhook.id}</Mono> · created <DateTime iso={webhook.createdAt} />
        {webhook.disabledReason ? <> · disabled: {webhook.disabledReason}</> : null}
      </p>
      <div className="row-actions">
        <div className="checkbox">
          <input
            id={`webhook-enabled-${webhook.id}`}
            type="checkbox"
            checked={webhook.enabled}
            disabled={toggle.isPending}
            onChange={(event) => toggle.mutate(event.target.checked)}
          />
          <label htmlFor={`webhook-enabled-${webhook.id}`}>
            Enabled<span className="visually-hidden"> ({webhook.url})</span>
          </label>
        </div>
        <button
          type="button"
          className="secondary"
          aria-label={`Edit subscription ${webhook.url}`}
          aria-expanded={editing}
          onClick={() => setEditing(!editing)}
        >
          Edit
        </button>
        <button
          type="button"
          className="secondary"
          aria-label={`Send test event to ${webhook.url}`}
          onClick={() => test.mutate()}
          disabled={test.isPending}
        >
          Send test event
        </button>
        <button
          type="button"
          className="secondary"
          aria-expanded={showLog}
          onClick={() => setShowLog(!showLog)}
        >
          {showLog ? 'Hide delivery log' : 'Delivery log'}
        </button>
        <ConfirmButton
          label="Rotate signing secret"
          accessibleLabel={`Rotate signing secret of ${webhook.url}`}
          className="secondary"
          title="Rotate the signing secret?"
          message={<p>A new secret is shown once; deliveries are signed with both for a grace period.</p>}
          confirmLabel="Yes, rotate it"
          onConfirm={() => rotate.mutate()}
        />
        <ConfirmButton
          label="Delete"
          accessibleLabel={`Delete subscription ${webhook.url}`}
          title="Delete this subscription?"
          message={<p>No more events are sent to {webhook.url}.</p>}
          confirmLabel="Yes, delete it"
          onConfirm={() => remove.mutate()}
        />
      </div>
      {editing ? <EditSubscription webhook={webhook} onDone={() => setEditing(false)} /> : null}
      {notice ? (
        <p className="success" role="status">
          {notice}
        </p>
      ) : null}
      <ErrorMessage error={error} />
      {showLog ? <DeliveryLog webhookId={webhook.id} /> : null}
    </li>
  );
}

function DeliveryLog({ webhookId }: { webhookId: string }) {
  const queryClient = useQueryClient();
  const [tokens, setTokens] = useState<(string | undefined)[]>([undefined]);
  const pageToken = tokens.at(-1);
  const log = useQuery({
    queryKey: ['deliveries', webhookId, pageToken],
    queryFn: ({ signal }) =>
      client.webhooks.deliveries(webhookId, { pageSize: 20, ...(pageToken ? { pageToken } : {}), signal }),
    refetchInterval: 5_000,
  });
  const redeliver = useMutation({
    mutationFn: (deliveryId: string) => client.webhooks.redeliver(webhookId, deliveryId),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['deliveries', webhookId] }),
  });
  if (log.isPending) return <Loading what="deliveries" />;
  if (log.error) return <ErrorMessage error={log.error} />;
  if (log.data.deliveries.length === 0)
    return (
      <EmptyState title="No deliveries yet">
        Press Send test event, or submit a batch: its events are delivered here.
      </EmptyState>
    );
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label="Delivery log table">
      <ErrorMessage error={redeliver.error} title="Not redelivered" />
      <table>
        <caption>Delivery log</caption>
        <thead>
          <tr>
            <th scope="col">Event</th>
            <th scope="col">State</th>
            <th scope="col">Attempts</th>
            <th scope="col">Status</th>
            <th scope="col">Latency</th>
            <th scope="col">Error</th>
            <th scope="col">Created</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {log.data.deliveries.map((delivery) => {
            const last = delivery.attemptLog.at(-1);
            return (
              <tr key={delivery.id}>
                <td>{delivery.eventType}</td>
                <td>
                  <StateBadge state={delivery.state} />
                </td>
                <td>
                  <details>
                    <summary>
                      <Num value={delivery.attempts} />
                    </summary>
                    <ol>
                      {delivery.attemptLog.map((attempt) => (
                        <li key={attempt.number}>
                          <DateTime iso={attempt.at} />: {attempt.status ?? 'no answer'},{' '}
                          {formatDuration(attempt.latencyMs)}
                          {attempt.error ? `, ${attempt.error}` : ''}
                        </li>
                      ))}
                    </ol>
                  </details>
                </td>
                <td>{delivery.lastStatus ?? '—'}</td>
                <td>{last ? formatDuration(last.latencyMs) : '—'}</td>
                <td className="key">{delivery.lastError ?? '—'}</td>
                <td>
                  <DateTime iso={delivery.createdAt} />
                </td>
                <td>
                  <button
                    type="button"
                    className="secondary"
                    aria-label={`Redeliver ${delivery.eventType} delivery ${delivery.id}`}
                    disabled={redeliver.isPending}
                    onClick={() => redeliver.mutate(delivery.id)}
                  >
                    Redeliver
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <nav className="pager" aria-label="Pages of deliveries">
        <button
          type="button"
          className="secondary"
          disabled={tokens.length <= 1}
          onClick={() => setTokens(tokens.slice(0, -1))}
        >
          Newer deliveries
        </button>
        <button
          type="button"
          className="secondary"
          disabled={!log.data.nextPageToken}
          onClick={() => setTokens([...tokens, log.data.nextPageToken ?? undefined])}
        >
          Older deliveries
        </button>
      </nav>
    </div>
  );
}
