/** Inbound hooks: URLs that start a run per signed call. List, create, edit, delete, rotate the secret (shown once). */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { CreateHookRequest, Hook } from '@pixelshift/client';
import { useState, type FormEvent } from 'react';
import { client } from '../api';
import {
  ConfirmButton,
  DateTime,
  EmptyState,
  ErrorMessage,
  Loading,
  Mono,
  Page,
  SecretOnce,
  StateBadge,
} from '../components';
import { TemplateEditor } from '../TemplateEditor';
import { defaultTemplate, saveIssues } from './RulesPage';

const defaultMapping = JSON.stringify({ bucket: { pointer: '/bucket' }, key: { pointer: '/key' } }, null, 2);

interface HookForm {
  name: string;
  enabled: boolean;
  mapping: string;
  template: string;
}

const emptyForm: HookForm = { name: '', enabled: true, mapping: defaultMapping, template: defaultTemplate };

/** The fixed bucket of a mapping, for the dry run's sample source. */
function bucketOf(mapping: string): string {
  try {
    const parsed = JSON.parse(mapping) as { bucket?: { value?: unknown } };
    return typeof parsed.bucket?.value === 'string' ? parsed.bucket.value : '';
  } catch {
    return '';
  }
}

export function HooksPage() {
  const queryClient = useQueryClient();
  const hooks = useQuery({ queryKey: ['hooks'], queryFn: ({ signal }) => client.hooks.list({ signal }) });
  const [editing, setEditing] = useState<string | null | undefined>(undefined);
  const [form, setForm] = useState<HookForm>(emptyForm);
  const [formError, setFormError] = useState<string | null>(null);
  // Shown once, in this component only.
  const [secret, setSecret] = useState<{ hookName: string; secret: string } | null>(null);
  const invalidate = () => queryClient.invalidateQueries({ queryKey: ['hooks'] });
  const save = useMutation({
    mutationFn: async (request: CreateHookRequest) => {
      if (editing) return { hook: await client.hooks.update(editing, request), secret: undefined };
      const created = await client.hooks.create(request);
      return { hook: created, secret: created.secret };
    },
    onSuccess: ({ hook, secret: created }) => {
      setEditing(undefined);
      if (created) setSecret({ hookName: hook.name, secret: created });
      void invalidate();
    },
  });
  const remove = useMutation({
    mutationFn: (hookId: string) => client.hooks.delete(hookId),
    onSettled: invalidate,
  });
  const rotate = useMutation({
    mutationFn: (hook: Hook) => client.hooks.rotateSecret(hook.hookId).then((rotated) => ({ hook, rotated })),
    onSuccess: ({ hook, rotated }) => {
      setSecret({ hookName: hook.name, secret: rotated.secret });
      void invalidate();
    },
  });

  const open = (hook?: Hook) => {
    save.reset();
    setFormError(null);
    setForm(
      hook
        ? {
            name: hook.name,
            enabled: hook.enabled,
            mapping: JSON.stringify(hook.mapping, null, 2),
            template: JSON.stringify(hook.template, null, 2),
          }
        : emptyForm,
    );
    setEditing(hook ? hook.hookId : null);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    let mapping: CreateHookRequest['mapping'];
    let template: CreateHookRequest['template'];
    try {
      mapping = JSON.parse(form.mapping) as CreateHookRequest['mapping'];
    } catch {
      setFormError('The mapping is not valid JSON.');
      return;
    }
    try {
      template = JSON.parse(form.template) as CreateHookRequest['template'];
    } catch {
      return;
    }
    setFormError(null);
    save.mutate({ name: form.name, enabled: form.enabled, mapping, template });
  };

  return (
    <Page
      title="Inbound hooks"
      actions={
        editing === undefined ? (
          <button type="button" onClick={() => open()}>
            New hook
          </button>
        ) : null
      }
    >
      <p className="lead">
        An inbound hook is a URL other systems call (signed with its secret) to start a run on the object the
        call names.
      </p>
      {secret ? (
        <SecretOnce
          label="Hook secret"
          secret={secret.secret}
          extra={<p>For hook {secret.hookName}: sign each call with it.</p>}
          onDismiss={() => setSecret(null)}
        />
      ) : null}
      <ErrorMessage error={rotate.error} title="The secret was not rotated" />
      {editing !== undefined ? (
        <form className="card editor-form" onSubmit={submit} aria-label={editing ? 'Edit hook' : 'New hook'}>
          <h2>{editing ? 'Edit hook' : 'New hook'}</h2>
          <div className="field">
            <label htmlFor="hook-name">Hook name</label>
            <input
              id="hook-name"
              required
              maxLength={200}
              value={form.name}
              onChange={(event) => setForm({ ...form, name: event.target.value })}
            />
          </div>
          <div className="checkbox">
            <input
              id="hook-enabled"
              type="checkbox"
              checked={form.enabled}
              onChange={(event) => setForm({ ...form, enabled: event.target.checked })}
            />
            <label htmlFor="hook-enabled">Enabled</label>
          </div>
          <div className="field">
            <label htmlFor="hook-mapping">Mapping (JSON)</label>
            <textarea
              id="hook-mapping"
              rows={6}
              spellCheck={false}
              aria-describedby="hook-mapping-hint"
              value={form.mapping}
              onChange={(event) => setForm({ ...form, mapping: event.target.value })}
            />
            <p id="hook-mapping-hint" className="hint">
              Where the source object is in a call's JSON body: <code>bucket</code> as{' '}
              <code>{'{ "pointer": "/…" }'}</code> or <code>{'{ "value": "name" }'}</code>, <code>key</code>{' '}
              as a pointer.
            </p>
          </div>
          <TemplateEditor
            id="hook-template"
            value={form.template}
            bucket={bucketOf(form.mapping)}
            onChange={(template) => setForm({ ...form, template })}
            serverIssues={saveIssues(save.error)}
          />
          {formError ? (
            <p className="error" role="alert">
              {formError}
            </p>
          ) : null}
          <ErrorMessage error={save.error} title="The hook was not saved" />
          <div className="form-actions">
            <button type="submit" disabled={save.isPending}>
              Save hook
            </button>
            <button type="button" className="secondary" onClick={() => setEditing(undefined)}>
              Cancel
            </button>
          </div>
        </form>
      ) : null}
      <ErrorMessage error={remove.error} title="The hook was not deleted" />
      {hooks.isPending ? (
        <Loading what="hooks" />
      ) : hooks.error ? (
        <ErrorMessage error={hooks.error} />
      ) : hooks.data.length === 0 ? (
        <EmptyState title="No inbound hooks yet">
          Press <strong>New hook</strong>, keep the secret it shows once, and call its URL with a signed JSON
          body naming an object.
        </EmptyState>
      ) : (
        <ul className="plain">
          {hooks.data.map((hook) => (
            <li key={hook.hookId} className="card">
              <p>
                <strong>{hook.name}</strong> <StateBadge state={hook.enabled ? 'enabled' : 'disabled'} />
              </p>
              <p>
                Trigger URL: <code className="url">{hook.triggerUrl}</code>
              </p>
              <p className="muted">
                <Mono>{hook.hookId}</Mono> · updated <DateTime iso={hook.updatedAt} />
                {hook.previousSecretExpiresAt ? (
                  <>
                    {' '}
                    · previous secret valid until <DateTime iso={hook.previousSecretExpiresAt} />
                  </>
                ) : null}
              </p>
              <div className="row-actions">
                <button
                  type="button"
                  className="secondary"
                  aria-label={`Edit hook ${hook.name}`}
                  onClick={() => open(hook)}
                >
                  Edit
                </button>
                <ConfirmButton
                  label="Rotate secret"
                  accessibleLabel={`Rotate secret of hook ${hook.name}`}
                  className="secondary"
                  title="Rotate this hook's secret?"
                  message={
                    <p>
                      A new secret is shown once; the current one keeps working for a grace period, then
                      stops.
                    </p>
                  }
                  confirmLabel="Yes, rotate it"
                  onConfirm={() => rotate.mutate(hook)}
                />
                <ConfirmButton
                  label="Delete"
                  accessibleLabel={`Delete hook ${hook.name}`}
                  title="Delete this hook?"
                  message={<p>Calls to its URL are refused from now on. Runs already started go on.</p>}
                  confirmLabel="Yes, delete it"
                  onConfirm={() => remove.mutate(hook.hookId)}
                />
              </div>
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}
