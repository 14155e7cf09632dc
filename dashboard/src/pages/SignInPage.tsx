/** Sign-in with email and password; a used or expired one-time link lands here with `?error=link_invalid`. */
import { useEffect, useState, type FormEvent } from 'react';
import { client, sessionStore } from '../api';
import { ErrorMessage } from '../components';
import { navigate, useLocation } from '../router';

export function SignInPage() {
  const { search } = useLocation();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const linkInvalid = search.get('error') === 'link_invalid';

  useEffect(() => {
    document.title = 'Sign in · pixelshift';
  }, []);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setPending(true);
    setError(null);
    client.session.signIn(email, password).then(
      (session) => {
        setPending(false);
        sessionStore.set(session);
        navigate('/', { replace: true });
      },
      (failure: unknown) => {
        setPending(false);
        setError(failure);
      },
    );
  };

  return (
    <main className="centered" id="main">
      <section className="card sign-in" aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Sign in</h1>
        <p className="muted">to the pixelshift dashboard</p>
        {linkInvalid ? (
          <div className="error" role="alert">
            <p>
              <strong>That sign-in link is no longer valid</strong> (each link works once, for 15 minutes).
              Sign in with your email and password, or ask for a new link (<code>npm start</code> prints one).
            </p>
          </div>
        ) : null}
        <form onSubmit={submit}>
          <label htmlFor="sign-in-email">Email</label>
          <input
            id="sign-in-email"
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(event) => setEmail(event.target.value)}
          />
          <label htmlFor="sign-in-password">Password</label>
          <input
            id="sign-in-password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
          <button type="submit" disabled={pending}>
            {pending ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
        <ErrorMessage error={error} title="Sign-in failed" />
      </section>
    </main>
  );
}
