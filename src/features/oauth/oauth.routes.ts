/**
 * `POST /oauth/token` (RFC 6749 §4.4). Errors use the OAuth format `{ error, error_description }` that
 * OAuth client libraries parse, not the API's own error format.
 */
import express, { Router, type ErrorRequestHandler } from 'express';
import { oauthError, type OAuthError } from '../../core/auth/client-credentials.js';
import { REALM } from '../../api/bearer.js';
import { exchangeClientCredentials, type TokenExchangeDeps } from './exchange-client-credentials.js';

const FORM = 'application/x-www-form-urlencoded';

/** §5.1: token responses must not be cached by anyone. */
const noStore = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

function sendError(res: express.Response, error: OAuthError): void {
  res.set(noStore);
  // §5.2: invalid_client is 401 with a challenge for the authentication scheme the client should use.
  if (error.status === 401) res.set('WWW-Authenticate', `Basic realm="${REALM}"`);
  res.status(error.status).json({ error: error.error, error_description: error.description });
}

export function oauthRoutes(deps: TokenExchangeDeps): Router {
  const router = Router();
  router.post(
    '/oauth/token',
    // `extended: false`: flat parameters; a repeated one arrives as an array and is refused (§3.2).
    express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 32, type: FORM }),
    async (req, res) => {
      const result = await exchangeClientCredentials(deps, {
        isForm: Boolean(req.is(FORM)),
        authorization: req.headers.authorization,
        form: req.body as Record<string, unknown> | undefined,
      });
      if (!result.ok) {
        sendError(res, result.error);
        return;
      }
      res.set(noStore).json(result.body);
    },
  );
  // Body-parser failures (too large, unsupported charset, …) are malformed token requests.
  const malformed: ErrorRequestHandler = (error: unknown, _req, res, next) => {
    const type = (error as { type?: unknown } | null)?.type;
    if (typeof type !== 'string') {
      next(error);
      return;
    }
    sendError(res, oauthError('invalid_request', 'The token request body could not be read'));
  };
  router.use('/oauth', malformed);
  return router;
}
