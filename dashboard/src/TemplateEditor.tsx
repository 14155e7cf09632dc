/**
 * The graph template editor of rules and hooks: a textarea validated live (debounced) through
 * `POST /v1/graphs:validate`, every issue listed at its JSON pointer and line.
 */
import { PixelshiftApiError, type PixelshiftIssue } from '@pixelshift/client';
import { useEffect, useId, useState } from 'react';
import { client } from './api';
import { graphOfTemplate, graphPointerToTemplate, locatePointer, syntaxErrorPosition } from './json-pointer';

export interface EditorIssue {
  /** A pointer into the template. */
  path: string;
  code: string;
  message: string;
}

type Check =
  | { state: 'idle' | 'checking' | 'valid' }
  | { state: 'invalid'; issues: EditorIssue[] }
  | { state: 'failed'; error: unknown };

const debounceMs = 400;

export function TemplateEditor({
  id,
  value,
  onChange,
  bucket,
  serverIssues = [],
}: {
  id: string;
  value: string;
  onChange: (text: string) => void;
  /** The bucket the template's sample source is in (a rule's bucket), for the dry run. */
  bucket: string;
  /** Issues of the last save, already pointing into the template. */
  serverIssues?: readonly EditorIssue[];
}) {
  const [check, setCheck] = useState<Check>({ state: 'idle' });
  const statusId = useId();

  useEffect(() => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      const at = syntaxErrorPosition(value, error);
      setCheck({
        state: 'invalid',
        issues: [
          {
            path: '',
            code: 'invalid_json',
            message: `Not valid JSON${at ? ` at line ${at.line}, column ${at.column}` : ''}: ${error instanceof Error ? error.message : String(error)}`,
          },
        ],
      });
      return;
    }
    setCheck({ state: 'checking' });
    const stop = new AbortController();
    const timer = setTimeout(() => {
      client.graphs
        .validate(graphOfTemplate(parsed, bucket || 'example-bucket') as never, { signal: stop.signal })
        .then(
          () => setCheck({ state: 'valid' }),
          (error: unknown) => {
            if (stop.signal.aborted) return;
            if (error instanceof PixelshiftApiError && error.issues.length > 0)
              setCheck({ state: 'invalid', issues: templateIssues(error.issues) });
            else setCheck({ state: 'failed', error });
          },
        );
    }, debounceMs);
    return () => {
      stop.abort();
      clearTimeout(timer);
    };
  }, [value, bucket]);

  const issues = [...(check.state === 'invalid' ? check.issues : []), ...serverIssues];
  return (
    <div className="template-editor">
      <label htmlFor={id}>Graph template (JSON)</label>
      <textarea
        id={id}
        rows={14}
        spellCheck={false}
        autoCapitalize="off"
        autoCorrect="off"
        aria-describedby={statusId}
        aria-invalid={issues.length > 0}
        value={value}
        onChange={(event) => onChange(event.target.value)}
      />
      <div id={statusId} aria-live="polite" className="template-status">
        {check.state === 'checking' ? <p className="muted">Checking…</p> : null}
        {check.state === 'valid' && serverIssues.length === 0 ? (
          <p className="success">The template is valid.</p>
        ) : null}
        {check.state === 'failed' ? (
          <p className="muted">
            Could not check the template:{' '}
            {check.error instanceof Error ? check.error.message : String(check.error)}
          </p>
        ) : null}
        {issues.length > 0 ? (
          <ul className="issues" aria-label="Template issues">
            {issues.map((issue, i) => {
              const at = issue.path ? locatePointer(value, issue.path) : undefined;
              return (
                <li key={i}>
                  {issue.path ? <code>{issue.path}</code> : 'The template'}
                  {at ? <span className="muted"> (line {at.line})</span> : null}: {issue.message}{' '}
                  <code className="error-code">{issue.code}</code>
                </li>
              );
            })}
          </ul>
        ) : null}
      </div>
    </div>
  );
}

/** The dry run's issues (pointers into the sample graph) as pointers into the template. */
export function templateIssues(issues: readonly PixelshiftIssue[]): EditorIssue[] {
  return issues.map((issue) => {
    const path = graphPointerToTemplate(issue.path);
    // The sample source stands for the triggering object: its issues are about the bucket, not the template.
    if (path === undefined)
      return { path: '', code: issue.code, message: `The source bucket: ${issue.message}` };
    return { path, code: issue.code, message: issue.message };
  });
}
