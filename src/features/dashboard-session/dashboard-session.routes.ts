/**
 * `/auth/...`: the dashboard's sign-in, session, sign-out and one-time links (docs/architecture.md,
 * "Dashboard sessions"). Outside `/v1` and without an account token; the session they start is a cookie
 * that `/v1` accepts as well as a bearer token (src/api/session-auth.ts).
 */
import type { ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ApiError } from '../../api/api-error.js';
import { defineRoute, noContent, noStore, ok, type ApiFeature, type Reply } from '../../api/define-route.js';
import { errorResponse } from '../../api/openapi-builder.js';
import {
  checkCsrf,
  clearSessionCookie,
  CSRF_HEADER,
  liveSessionOf,
  refuseForeignOrigin,
  SESSION_COOKIE,
  sessionCookieOf,
  sessionUnauthorized,
  setSessionCookie,
  type SessionSettings,
} from '../../api/session-auth.js';
import { translateZodIssues } from '../../core/graph/zod-issues.js';
import { endSession } from '../../db/dashboard-sessions.js';
import type { Db } from '../../db/database.js';
import {
  dashboardSessionSchema,
  signInRequestSchema,
  type SignInRequest,
} from './dashboard-session.schemas.js';
import { describeSession, signIn, signInWithLink, type SignInLimits } from './dashboard-session.service.js';

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });

export interface DashboardSessionDeps {
  db: Db;
  sessions: SessionSettings;
  limits: SignInLimits;
}

/** Where the browser goes after a one-time link: the dashboard, or its sign-in page with the reason. */
export const DASHBOARD_HOME = '/dashboard/';
export const LINK_INVALID = '/dashboard/sign-in?error=link_invalid';

/** The largest sign-in body: an email and a password with room to spare. */
const SIGN_IN_MAX_BYTES = 8 * 1024;

const setCookieHeader = {
  'Set-Cookie': {
    description: `\`${SESSION_COOKIE}=<opaque token>; Path=/; HttpOnly; SameSite=Lax\`, and \`Secure\` over https. A new token at every sign-in.`,
    schema: { type: 'string' as const },
  },
};

const sessionResponse = (description: string): ResponseConfig => ({
  description,
  headers: setCookieHeader,
  content: json(dashboardSessionSchema),
});

/** A malformed sign-in body is a 400 `invalid_request` with every issue (the session contract's answer). */
function parseSignIn(body: unknown): SignInRequest {
  const parsed = signInRequestSchema.safeParse(body ?? {}, { reportInput: false });
  if (parsed.success) return parsed.data;
  throw new ApiError(
    400,
    'invalid_request',
    'The sign-in request needs an email and a password',
    translateZodIssues(parsed.error.issues, [], 'the sign-in request'),
  );
}

export function dashboardSessionFeature(deps: DashboardSessionDeps): ApiFeature {
  const service = {
    db: deps.db,
    lifetimes: { idleMs: deps.sessions.idleMs, maxAgeMs: deps.sessions.maxAgeMs },
    limits: deps.limits,
    now: deps.sessions.now,
  };
  const publicUrl = deps.sessions.publicUrl;
  const redirect = (location: string): Reply => ({
    status: 303,
    headers: { Location: location, ...noStore },
  });
  return {
    tags: [
      {
        name: 'dashboard-session',
        description: `Dashboard sign-in. A session is the \`${SESSION_COOKIE}\` cookie; \`/v1\` accepts it in place of a bearer token, and a cookie request that changes state needs \`${CSRF_HEADER}\` and a same-origin \`Origin\`.`,
      },
    ],
    routes: [
      defineRoute({
        operationId: 'signIn',
        method: 'post',
        path: '/auth/sign-in',
        tags: ['dashboard-session'],
        auth: 'none',
        summary: 'Sign in to the dashboard with an email and a password; starts a new session',
        description:
          'Failed attempts are limited per email and per client address within a window (`too_many_attempts` with `Retry-After`). An unknown email and a wrong password get the same answer.',
        request: {
          body: {
            schema: signInRequestSchema,
            contentType: 'application/json',
            maxBytes: SIGN_IN_MAX_BYTES,
            parse: parseSignIn,
          },
        },
        responses: {
          200: sessionResponse(
            'Signed in: the session cookie is set; keep `csrfToken` for requests that change state.',
          ),
          400: errorResponse(
            'Malformed body (`invalid_json`) or a body without a valid email and password (`invalid_request`, every issue by pointer).',
          ),
          401: errorResponse(
            'Unknown email or wrong password (`invalid_credentials`; the same answer for both).',
          ),
          403: errorResponse('The request’s `Origin` is another site’s (`csrf_failed`).'),
          429: errorResponse(
            'Too many failed sign-ins for this email or from this address (`too_many_attempts`, with `Retry-After`).',
          ),
        },
        authenticate: (req) => refuseForeignOrigin(req, publicUrl),
        handler: async ({ body, req, res }) => {
          const signedIn = await signIn(service, body, req.ip ?? 'unknown', sessionCookieOf(req));
          setSessionCookie(req, res, signedIn.token, publicUrl);
          return ok(signedIn.body, noStore);
        },
      }),
      defineRoute({
        operationId: 'getSession',
        method: 'get',
        path: '/auth/session',
        tags: ['dashboard-session'],
        auth: 'none',
        security: [{ sessionCookie: [] }],
        summary: 'The signed-in dashboard user and the session’s CSRF token',
        responses: {
          200: {
            description: 'The session (as sign-in answered it).',
            content: json(dashboardSessionSchema),
          },
          401: errorResponse('No session cookie, or its session ended or expired (`unauthorized`).'),
        },
        handler: async ({ req }) => {
          const session = await liveSessionOf(deps.db, req, deps.sessions);
          const body = session ? await describeSession(deps.db, session) : undefined;
          if (!body) throw sessionUnauthorized();
          return ok(body, noStore);
        },
      }),
      defineRoute({
        operationId: 'signOut',
        method: 'post',
        path: '/auth/sign-out',
        tags: ['dashboard-session'],
        auth: 'none',
        security: [{ sessionCookie: [] }],
        summary: 'End the session on the server and clear its cookie',
        description: `Needs \`${CSRF_HEADER}\` and a same-origin \`Origin\`, like every cookie request that changes state.`,
        responses: {
          204: {
            description: 'Signed out: the session is ended and the cookie cleared.',
            headers: setCookieHeader,
          },
          401: errorResponse('No session cookie, or its session already ended or expired (`unauthorized`).'),
          403: errorResponse(`No or a wrong \`${CSRF_HEADER}\`, or another \`Origin\` (\`csrf_failed\`).`),
        },
        handler: async ({ req, res }) => {
          const session = await liveSessionOf(deps.db, req, deps.sessions);
          if (!session) throw sessionUnauthorized();
          checkCsrf(req, session, publicUrl);
          await endSession(deps.db, session.tokenHash, deps.sessions.now());
          clearSessionCookie(req, res, publicUrl);
          return noContent;
        },
      }),
      defineRoute({
        operationId: 'useSignInLink',
        method: 'get',
        path: '/auth/link/{token}',
        tags: ['dashboard-session'],
        auth: 'none',
        summary: 'Sign in with a one-time link (printed by `npm start` and `pixelshift users link`)',
        description:
          'A link works once, within 15 minutes. Either way the answer is a redirect: to the dashboard with a new session cookie, or to its sign-in page.',
        request: {
          params: z.object({ token: z.string().describe('The link’s token (43 characters, base64url).') }),
        },
        responses: {
          303: {
            description: `To \`${DASHBOARD_HOME}\` with a new session cookie; to \`${LINK_INVALID}\` when the link is unknown, used or expired.`,
            headers: {
              ...setCookieHeader,
              Location: { description: 'Where the browser goes next.', schema: { type: 'string' as const } },
            },
          },
        },
        handler: async ({ params, req, res }) => {
          const token = await signInWithLink(service, params.token);
          if (token === undefined) return redirect(LINK_INVALID);
          setSessionCookie(req, res, token, publicUrl);
          return redirect(DASHBOARD_HOME);
        },
      }),
    ],
  };
}
