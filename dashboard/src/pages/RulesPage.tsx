/** Rules: bucket events that start runs. List, create, edit, delete; the template validated live. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { PixelshiftApiError, type Rule, type RuleRequest } from '@pixelshift/client';
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
  StateBadge,
} from '../components';
import { requestPointerToTemplate } from '../json-pointer';
import { TemplateEditor, type EditorIssue } from '../TemplateEditor';

export const defaultTemplate = JSON.stringify(
  {
    transformUnits: [
      { type: 'Resize', width: 320 },
      { type: 'ImageFormat', format: 'webp', quality: 80 },
      { type: 'StorageSink', bucket: 'thumbnails', key: '{dir}/{name}.webp' },
    ],
  },
  null,
  2,
);

interface RuleForm {
  name: string;
  connection: string;
  bucket: string;
  prefix: string;
  suffix: string;
  contentTypes: string;
  enabled: boolean;
  template: string;
}

const emptyForm: RuleForm = {
  name: '',
  connection: '',
  bucket: '',
  prefix: '',
  suffix: '',
  contentTypes: '',
  enabled: true,
  template: defaultTemplate,
};

function formOf(rule: Rule): RuleForm {
  return {
    name: rule.name ?? '',
    connection: rule.connection,
    bucket: rule.bucket,
    prefix: rule.prefix,
    suffix: rule.suffix,
    contentTypes: rule.contentTypes.join(', '),
    enabled: rule.enabled,
    template: JSON.stringify(rule.template, null, 2),
  };
}

/** Issues of a refused save that point into the template, for the editor. */
export function saveIssues(error: unknown): EditorIssue[] {
  if (!(error instanceof PixelshiftApiError)) return [];
  return error.issues.flatMap((issue) => {
    const path = requestPointerToTemplate(issue.path);
    return path === undefined ? [] : [{ path, code: issue.code, message: issue.message }];
  });
}

export function RulesPage() {
  const queryClient = useQueryClient();
  const rules = useQuery({ queryKey: ['rules'], queryFn: ({ signal }) => client.rules.list({ signal }) });
  // undefined: no form; null: a new rule; a rule id: editing it.
  const [editing, setEditing] = useState<string | null | undefined>(undefined);
  const [form, setForm] = useState<RuleForm>(emptyForm);
  const save = useMutation({
    mutationFn: async (request: RuleRequest) =>
      editing ? client.rules.replace(editing, request) : client.rules.create(request),
    onSuccess: () => {
      setEditing(undefined);
      void queryClient.invalidateQueries({ queryKey: ['rules'] });
    },
  });
  const remove = useMutation({
    mutationFn: (ruleId: string) => client.rules.delete(ruleId),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['rules'] }),
  });

  const open = (rule?: Rule) => {
    save.reset();
    setForm(rule ? formOf(rule) : emptyForm);
    setEditing(rule ? rule.ruleId : null);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    let template: RuleRequest['template'];
    try {
      template = JSON.parse(form.template) as RuleRequest['template'];
    } catch {
      return; // the editor shows where the JSON breaks
    }
    const contentTypes = form.contentTypes
      .split(',')
      .map((type) => type.trim())
      .filter(Boolean);
    save.mutate({
      ...(form.name ? { name: form.name } : {}),
      ...(form.connection ? { connection: form.connection } : {}),
      bucket: form.bucket,
      prefix: form.prefix,
      suffix: form.suffix,
      ...(contentTypes.length ? { contentTypes } : {}),
      enabled: form.enabled,
      template,
    });
  };
  const field = (name: keyof RuleForm) => ({
    value: form[name] as string,
    onChange: (event: { target: { value: string } }) => setForm({ ...form, [name]: event.target.value }),
  });

  return (
    <Page
      title="Rules"
      actions={
        editing === undefined ? (
          <button type="button" onClick={() => open()}>
            New rule
          </button>
        ) : null
      }
    >
      <p className="lead">
        A rule runs its graph template on every object created in its bucket that matches it.
      </p>
      {editing !== undefined ? (
        <form className="card editor-form" onSubmit={submit} aria-label={editing ? 'Edit rule' : 'New rule'}>
          <h2>{editing ? 'Edit rule' : 'New rule'}</h2>
          <div className="grid-2">
            <div className="field">
              <label htmlFor="rule-name">Rule name</label>
              <input id="rule-name" maxLength={200} {...field('name')} />
            </div>
            <div className="field">
              <label htmlFor="rule-bucket">Bucket</label>
              <input id="rule-bucket" required {...field('bucket')} />
            </div>
            <div className="field">
              <label htmlFor="rule-connection">Storage connection</label>
              <input id="rule-connection" placeholder="default" {...field('connection')} />
            </div>
            <div className="field">
              <label htmlFor="rule-prefix">Key prefix</label>
              <input id="rule-prefix" placeholder="uploads/" {...field('prefix')} />
            </div>
            <div className="field">
              <label htmlFor="rule-suffix">Key suffix</label>
              <input id="rule-suffix" placeholder=".jpg" {...field('suffix')} />
            </div>
            <div className="field">
              <label htmlFor="rule-content-types">Content types</label>
              <input id="rule-content-types" placeholder="image/jpeg, image/png" {...field('contentTypes')} />
            </div>
          </div>
          <div className="checkbox">
            <input
              id="rule-enabled"
              type="checkbox"
              checked={form.enabled}
              onChange={(event) => setForm({ ...form, enabled: event.target.checked })}
            />
            <label htmlFor="rule-enabled">Enabled</label>
          </div>
          <TemplateEditor
            id="rule-template"
            value={form.template}
            bucket={form.bucket}
            onChange={(template) => setForm({ ...form, template })}
            serverIssues={saveIssues(save.error)}
          />
          <ErrorMessage error={save.error} title="The rule was not saved" />
          <div className="form-actions">
            <button type="submit" disabled={save.isPending}>
              Save rule
            </button>
            <button type="button" className="secondary" onClick={() => setEditing(undefined)}>
              Cancel
            </button>
          </div>
        </form>
      ) : null}
      <ErrorMessage error={remove.error} title="The rule was not deleted" />
      {rules.isPending ? (
        <Loading what="rules" />
      ) : rules.error ? (
        <ErrorMessage error={rules.error} />
      ) : rules.data.length === 0 ? (
        <EmptyState title="No rules yet">
          Press <strong>New rule</strong>: name a bucket and a template, then drop a file into the bucket and
          watch the run on the Runs page.
        </EmptyState>
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Rules table">
          <table>
            <caption className="visually-hidden">Rules</caption>
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Bucket</th>
                <th scope="col">Matches</th>
                <th scope="col">State</th>
                <th scope="col">Updated</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rules.data.map((rule) => {
                const name = rule.name ?? rule.ruleId;
                return (
                  <tr key={rule.ruleId}>
                    <td>{rule.name ?? <Mono>{rule.ruleId}</Mono>}</td>
                    <td>
                      {rule.connection}:{rule.bucket}
                    </td>
                    <td>
                      <code>
                        {rule.prefix}*{rule.suffix}
                      </code>
                      {rule.contentTypes.length ? (
                        <span className="muted"> ({rule.contentTypes.join(', ')})</span>
                      ) : null}
                    </td>
                    <td>
                      <StateBadge state={rule.enabled ? 'enabled' : 'disabled'} />
                    </td>
                    <td>
                      <DateTime iso={rule.updatedAt} />
                    </td>
                    <td className="row-actions">
                      <button
                        type="button"
                        className="secondary"
                        aria-label={`Edit rule ${name}`}
                        onClick={() => open(rule)}
                      >
                        Edit
                      </button>
                      <ConfirmButton
                        label="Delete"
                        accessibleLabel={`Delete rule ${name}`}
                        title="Delete this rule?"
                        message={
                          <p>
                            Objects landing in {rule.bucket} no longer start runs of this rule. Runs already
                            started go on.
                          </p>
                        }
                        confirmLabel="Yes, delete it"
                        onConfirm={() => remove.mutate(rule.ruleId)}
                      />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}
