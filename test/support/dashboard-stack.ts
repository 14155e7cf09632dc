/**
 * The real stack (test/support/stack.ts) with the dashboard served at /dashboard/ and a dashboard user of
 * the stack's account, for the browser tests and the dashboard bench; plus the session calls a browser
 * makes, done with fetch (sign-in, CSRF header, Origin) for the security tests.
 */
import { randomBytes } from 'node:crypto';
import { ensureDashboardBuilt } from '../../src/app/dashboard-assets.js';
import { createDashboardUser, createSignInLink } from '../../src/db/index.js';
import { startStack, type Stack, type StackOptions } from './stack.js';

export interface DashboardUser {
  id: string;
  email: string;
  password: string;
  accountId: string;
}

export interface DashboardStack {
  stack: Stack;
  /** The server's own origin, e.g. http://127.0.0.1:40123 */
  baseUrl: string;
  user: DashboardUser;
  /** A dashboard user of another account (or of the stack's account when `accountId` is given). */
  addUser(accountId: string, label?: string): Promise<DashboardUser>;
  /** A fresh one-time sign-in link path (`/auth/link/<token>`) for `user` (the stack's user by default). */
  signInLink(user?: DashboardUser): Promise<string>;
  close(): Promise<void>;
}

let built: Promise<unknown> | undefined;

export async function startDashboardStack(options: StackOptions = {}): Promise<DashboardStack> {
  // Built once per process (the suite runner builds it once per run before the files start).
  built ??= ensureDashboardBuilt();
  await built;
  // The app serves dashboard/dist at /dashboard/ by default.
  const stack = await startStack(options);
  const baseUrl = stack.server.url;
  const addUser = async (accountId: string, label = 'user'): Promise<DashboardUser> => {
    const email = `${label}-${randomBytes(3).toString('hex')}@example.test`;
    const password = `pw-${randomBytes(12).toString('base64url')}`;
    const created = await createDashboardUser(stack.database.db, { accountId, email, password });
    return { id: created.id, email, password, accountId };
  };
  const user = await addUser(stack.account.accountId, 'owner');
  return {
    stack,
    baseUrl,
    user,
    addUser,
    async signInLink(who = user) {
      const link = await createSignInLink(stack.database.db, who.id);
      return link.url;
    },
    close: () => stack.close(),
  };
}

/** A session as a browser holds it: the cookie pair (`pixelshift_session=…`) and the CSRF token. */
export interface HttpSession {
  cookie: string;
  csrfToken: string;
}

/** Signs in with fetch as the sign-in page does; throws unless 200. */
export async function signInHttp(
  baseUrl: string,
  user: Pick<DashboardUser, 'email' | 'password'>,
  headers: Record<string, string> = {},
): Promise<HttpSession> {
  const response = await fetch(`${baseUrl}/auth/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: baseUrl, ...headers },
    body: JSON.stringify({ email: user.email, password: user.password }),
  });
  const body = (await response.json()) as { csrfToken: string };
  if (response.status !== 200) throw new Error(`sign-in: ${response.status} ${JSON.stringify(body)}`);
  return { cookie: sessionCookie(response.headers), csrfToken: body.csrfToken };
}

/** The `pixelshift_session=<value>` pair of a response's Set-Cookie headers. */
export function sessionCookie(headers: Headers): string {
  const pair = headers
    .getSetCookie()
    .map((line) => line.split(';')[0]!.trim())
    .find((p) => p.startsWith('pixelshift_session='));
  if (!pair) throw new Error(`no pixelshift_session cookie in ${JSON.stringify(headers.getSetCookie())}`);
  return pair;
}

/**
 * A request as the dashboard makes it: the session cookie, and for state-changing methods the CSRF header
 * and the server's Origin, each of which a test may drop or replace (`csrf: null`, `origin: '…'`).
 */
export async function sessionCall(
  baseUrl: string,
  session: HttpSession,
  pathname: string,
  init: { method?: string; body?: unknown; csrf?: string | null; origin?: string | null } = {},
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = { cookie: session.cookie };
  const csrf = init.csrf === undefined ? session.csrfToken : init.csrf;
  const origin = init.origin === undefined ? baseUrl : init.origin;
  if (!['GET', 'HEAD', 'OPTIONS'].includes(method)) {
    if (csrf !== null) headers['x-csrf-token'] = csrf;
    if (origin !== null) headers.origin = origin;
  }
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${pathname}`, {
    method,
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    redirect: 'manual',
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON (an image, a page): the text is the body
  }
  return { status: response.status, body, headers: response.headers };
}
