/** The small building blocks every page uses: errors, confirmations, dates, numbers, secrets, empty states. */
import { PixelshiftApiError } from '@pixelshift/client';
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { formatBytes, formatLocalDateTime, formatNumber, formatUtc } from './format';

/** A page: its one heading, optional actions beside it, its content. */
export function Page({
  title,
  actions,
  children,
}: {
  title: string;
  actions?: ReactNode;
  children: ReactNode;
}) {
  useEffect(() => {
    document.title = `${title} · pixelshift`;
  }, [title]);
  return (
    <section className="page" aria-labelledby="page-title">
      <header className="page-header">
        <h1 id="page-title">{title}</h1>
        {actions ? <div className="page-actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

/** An API failure with its message and code (and every issue with its pointer), or any other error. */
export function ErrorMessage({ error, title }: { error: unknown; title?: string }) {
  if (error === null || error === undefined) return null;
  const apiError = error instanceof PixelshiftApiError ? error : undefined;
  const message =
    error instanceof Error ? error.message : typeof error === 'string' ? error : 'Unexpected error';
  return (
    <div className="error" role="alert">
      <p>
        <strong>{title ?? 'The request failed'}:</strong> {message}
        {apiError ? (
          <>
            {' '}
            <code className="error-code">{apiError.code}</code>{' '}
            <span className="muted">(HTTP {apiError.status})</span>
          </>
        ) : null}
      </p>
      {apiError && apiError.issues.length > 0 ? (
        <ul>
          {apiError.issues.map((issue, i) => (
            <li key={i}>
              <code>{issue.path || '/'}</code> {issue.message}{' '}
              <code className="error-code">{issue.code}</code>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** A date in local time; the UTC instant on hover. */
export function DateTime({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span className="muted">—</span>;
  return (
    <time dateTime={iso} title={formatUtc(iso)}>
      {formatLocalDateTime(iso)}
    </time>
  );
}

export function Num({ value }: { value: number | null | undefined }) {
  return <>{formatNumber(value)}</>;
}

export function Bytes({ value }: { value: number | null | undefined }) {
  return (
    <span title={value === null || value === undefined ? undefined : `${formatNumber(value)} bytes`}>
      {formatBytes(value)}
    </span>
  );
}

/** A state as a badge (colour plus the word, never colour alone). */
export function StateBadge({ state }: { state: string }) {
  return <span className={`badge badge-${state}`}>{state.replace(/_/g, ' ')}</span>;
}

/** What to do next when a list is empty. */
export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children ? <div>{children}</div> : null}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** Copies text to the clipboard and says so. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="secondary"
      aria-label={label}
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(
          () => setCopied(true),
          () => setCopied(false),
        );
      }}
    >
      {copied ? 'Copied' : 'Copy'}
    </button>
  );
}

/** A secret the API shows once: in a read-only field with a copy button, until dismissed. */
export function SecretOnce({
  label,
  secret,
  extra,
  onDismiss,
}: {
  label: string;
  secret: string;
  extra?: ReactNode;
  onDismiss: () => void;
}) {
  const id = useId();
  return (
    <div className="secret" role="region" aria-label={label}>
      <p>
        <strong>Copy it now: it is shown only once</strong> and cannot be shown again, not even after a
        reload.
      </p>
      {extra}
      <div className="secret-row">
        <label htmlFor={id}>{label}</label>
        <input id={id} readOnly value={secret} onFocus={(event) => event.currentTarget.select()} />
        <CopyButton text={secret} label="Copy the secret" />
      </div>
      <button type="button" className="secondary" onClick={onDismiss}>
        Done
      </button>
    </div>
  );
}

/**
 * A button that asks first, in a native modal <dialog>: `onConfirm` runs only when the dialog's confirm
 * button is pressed. Escape and Cancel close it without acting.
 */
export function ConfirmButton({
  label,
  accessibleLabel,
  title,
  message,
  confirmLabel,
  onConfirm,
  disabled,
  className = 'danger',
}: {
  label: string;
  accessibleLabel?: string;
  title: string;
  message: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  disabled?: boolean;
  className?: string;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  return (
    <>
      <button
        type="button"
        className={className}
        aria-label={accessibleLabel}
        disabled={disabled}
        onClick={() => dialog.current?.showModal()}
      >
        {label}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId} className="confirm">
        <form
          method="dialog"
          onSubmit={(event) => {
            const submitter = event.nativeEvent.submitter as HTMLButtonElement | null;
            if (submitter?.value === 'confirm') onConfirm();
          }}
        >
          <h2 id={titleId}>{title}</h2>
          <div>{message}</div>
          <div className="dialog-actions">
            <button type="submit" value="cancel" className="secondary" autoFocus>
              No, go back
            </button>
            <button type="submit" value="confirm" className={className}>
              {confirmLabel}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

/** A value for the `title` of a truncated identifier. */
export function Mono({ children }: { children: string }) {
  return (
    <code className="mono" title={children}>
      {children}
    </code>
  );
}
