/** The shell: the session check, the sidebar (a top menu on narrow screens), sign-out, and the routes. */
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, useSyncExternalStore } from 'react';
import { client, isUnauthorized, sessionStore } from './api';
import { ErrorMessage } from './components';
import { Link, navigate, useLocation } from './router';
import { BatchPage } from './pages/BatchPage';
import { BatchesPage } from './pages/BatchesPage';
import { DeveloperPage } from './pages/DeveloperPage';
import { HooksPage } from './pages/HooksPage';
import { KeysPage } from './pages/KeysPage';
import { OverviewPage } from './pages/OverviewPage';
import { RulesPage } from './pages/RulesPage';
import { RunsPage } from './pages/RunsPage';
import { SignInPage } from './pages/SignInPage';
import { ThrottlePage } from './pages/ThrottlePage';
import { WebhooksPage } from './pages/WebhooksPage';

/** The sidebar's links, in order; the names are the pages' headings. */
export const navItems = [
  { to: '/', label: 'Overview' },
  { to: '/keys', label: 'API keys' },
  { to: '/throttle', label: 'Throttle' },
  { to: '/batches', label: 'Batches' },
  { to: '/runs', label: 'Runs' },
  { to: '/rules', label: 'Rules' },
  { to: '/hooks', label: 'Inbound hooks' },
  { to: '/webhooks', label: 'Webhooks' },
  { to: '/developer', label: 'Developer' },
] as const;

export function App() {
  const { path } = useLocation();
  const session = useSyncExternalStore(sessionStore.subscribe, sessionStore.get);
  const [checkError, setCheckError] = useState<unknown>(null);

  // A reloaded page asks the server for its session (and the CSRF token its changes need).
  useEffect(() => {
    if (session !== undefined) return;
    client.session.get().then(
      (found) => sessionStore.set(found),
      (error: unknown) => {
        if (isUnauthorized(error)) sessionStore.set(null);
        else setCheckError(error);
      },
    );
  }, [session]);

  useEffect(() => {
    if (session === null && path !== '/sign-in') navigate('/sign-in', { replace: true });
    if (session && path === '/sign-in') navigate('/', { replace: true });
  }, [session, path]);

  if (path === '/sign-in' || session === null) return <SignInPage />;
  if (session === undefined)
    return (
      <main className="centered">
        {checkError ? (
          <ErrorMessage error={checkError} title="The session could not be checked" />
        ) : (
          <p role="status">Loading…</p>
        )}
      </main>
    );
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="sidebar">
        <p className="brand">
          <Link to="/">pixelshift</Link>
        </p>
        <nav aria-label="Main">
          <ul>
            {navItems.map((item) => (
              <li key={item.to}>
                <Link to={item.to} aria-current={isCurrent(path, item.to) ? 'page' : undefined}>
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <SignOut email={session.user.email} />
      </header>
      <main id="main" tabIndex={-1}>
        <Route path={path} />
      </main>
    </div>
  );
}

function isCurrent(path: string, to: string): boolean {
  return to === '/' ? path === '/' : path === to || path.startsWith(`${to}/`);
}

function Route({ path }: { path: string }) {
  const batch = /^\/batches\/([^/]+)$/.exec(path);
  if (batch) return <BatchPage batchId={decodeURIComponent(batch[1]!)} />;
  switch (path) {
    case '/':
      return <OverviewPage />;
    case '/keys':
      return <KeysPage />;
    case '/throttle':
      return <ThrottlePage />;
    case '/batches':
      return <BatchesPage />;
    case '/runs':
      return <RunsPage />;
    case '/rules':
      return <RulesPage />;
    case '/hooks':
      return <HooksPage />;
    case '/webhooks':
      return <WebhooksPage />;
    case '/developer':
      return <DeveloperPage />;
    default:
      return (
        <section className="page">
          <h1>Page not found</h1>
          <p>
            There is no page at this address. <Link to="/">Go to the Overview</Link>.
          </p>
        </section>
      );
  }
}

function SignOut({ email }: { email: string }) {
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  return (
    <div className="account-box">
      <p className="muted" title={email}>
        {email}
      </p>
      <button
        type="button"
        className="secondary"
        onClick={() => {
          client.session.signOut().then(
            () => {
              queryClient.clear();
              sessionStore.set(null);
              navigate('/sign-in', { replace: true });
            },
            (failure: unknown) => {
              if (isUnauthorized(failure)) {
                queryClient.clear();
                sessionStore.set(null);
              } else setError(failure);
            },
          );
        }}
      >
        Sign out
      </button>
      <ErrorMessage error={error} title="Sign-out failed" />
    </div>
  );
}
