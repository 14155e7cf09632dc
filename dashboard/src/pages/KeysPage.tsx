/** API keys: generate (the secret shown once, with a copy button), list with created and last used, revoke. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { CreatedApiKey } from '@pixelshift/client';
import { useState, type FormEvent } from 'react';
import { client } from '../api';
import { Link } from '../router';
import {
  ConfirmButton,
  DateTime,
  EmptyState,
  ErrorMessage,
  Loading,
  Mono,
  Page,
  SecretOnce,
} from '../components';

export function KeysPage() {
  const queryClient = useQueryClient();
  const keys = useQuery({ queryKey: ['keys'], queryFn: ({ signal }) => client.keys.list({ signal }) });
  const [label, setLabel] = useState('');
  // Only in this component's state: gone on reload or when dismissed, as the API shows it once.
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const create = useMutation({
    mutationFn: (keyLabel: string) => client.keys.create(keyLabel ? { label: keyLabel } : {}),
    onSuccess: (key) => {
      setCreated(key);
      setLabel('');
      void queryClient.invalidateQueries({ queryKey: ['keys'] });
      void queryClient.invalidateQueries({ queryKey: ['account'] });
    },
  });
  const revoke = useMutation({
    mutationFn: (keyId: string) => client.keys.revoke(keyId),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['keys'] }),
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(label.trim());
  };

  return (
    <Page title="API keys">
      <p className="lead">
        A key pair (client id and secret) gets access tokens with the client-credentials grant (see{' '}
        <Link to="/developer">Developer</Link>).
      </p>
      <form className="inline-form" onSubmit={submit} aria-label="Generate a key">
        <label htmlFor="key-label">Key label</label>
        <input
          id="key-label"
          maxLength={100}
          placeholder="e.g. ci-pipeline"
          value={label}
          onChange={(event) => setLabel(event.target.value)}
        />
        <button type="submit" disabled={create.isPending}>
          Generate new API key
        </button>
      </form>
      <ErrorMessage error={create.error} title="The key was not created" />
      {created ? (
        <SecretOnce
          label="Client secret"
          secret={created.secret}
          extra={
            <p>
              Client id: <Mono>{created.keyId}</Mono>
            </p>
          }
          onDismiss={() => setCreated(null)}
        />
      ) : null}
      <ErrorMessage error={revoke.error} title="The key was not revoked" />
      <h2>Keys</h2>
      {keys.isPending ? (
        <Loading what="keys" />
      ) : keys.error ? (
        <ErrorMessage error={keys.error} />
      ) : keys.data.length === 0 ? (
        <EmptyState title="No API keys yet">
          Generate one above to call the API from your code, then exchange it for a token.
        </EmptyState>
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="API keys table">
          <table>
            <caption className="visually-hidden">API keys</caption>
            <thead>
              <tr>
                <th scope="col">Client id</th>
                <th scope="col">Label</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((key) => (
                <tr key={key.keyId}>
                  <td>
                    <Mono>{key.keyId}</Mono>
                  </td>
                  <td>{key.label ?? <span className="muted">—</span>}</td>
                  <td>
                    <DateTime iso={key.createdAt} />
                  </td>
                  <td>
                    {key.lastUsedAt ? (
                      <DateTime iso={key.lastUsedAt} />
                    ) : (
                      <span className="muted">never</span>
                    )}
                  </td>
                  <td>
                    {key.revokedAt ? (
                      <>
                        revoked <DateTime iso={key.revokedAt} />
                      </>
                    ) : (
                      'active'
                    )}
                  </td>
                  <td>
                    {key.revokedAt ? null : (
                      <ConfirmButton
                        label="Revoke"
                        accessibleLabel={`Revoke key ${key.keyId}`}
                        title="Revoke this key?"
                        message={
                          <p>
                            Token requests with <Mono>{key.keyId}</Mono> and tokens already issued with it
                            stop working at once. This cannot be undone.
                          </p>
                        }
                        confirmLabel="Yes, revoke it"
                        onConfirm={() => revoke.mutate(key.keyId)}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}
