/**
 * `POST /oauth/token` (RFC 6749 §4.4). Errors use the OAuth format `{ error, error_description }` that
 * OAuth client libraries parse, not the API's own error format.
 */
import type { Response } from 'express';
import { z } from 'zod';
import { oauthError, type OAuthError } from '../../core/auth/client-credentials.js';
import { REALM } from '../../api/bearer.js';
import { defineRoute, ok, type ApiFeature } from '../../api/define-route.js';
import { exchangeClientCredentials, type TokenExchangeDeps } from './exchange-client-credentials.js';
import { oauthErrorSchema, tokenRequestSchema, tokenResponseSchema } from './oauth.schemas.js';

const FORM = 'application/x-www-form-urlencoded';

/** Token requests are a handful of short parameters. */
export const TOKEN_REQUEST_MAX_BYTES = 16 * 1024;

/** §5.1: token responses must not be cached by anyone. */
const noStore = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

function sendError(res: Response, status: number, error: OAuthError): void {
  res.set(noStore);
  // §5.2: invalid_client is 401 with a challenge for the authentication scheme the client should use.
  if (status === 401) res.set('WWW-Authenticate', `Basic realm="${REALM}"`);
  res.status(status).json({ error: error.error, error_description: error.description });
}

const oauthJson = { 'application/json': { schema: oauthErrorSchema } };

/** The parsed form: flat parameters; a repeated one arrives as an array and is refused (§3.2). */
const formSchema = z.record(z.string(), z.union([z.string(), z.array(z.string())]));

export function oauthFeature(deps: TokenExchangeDeps): ApiFeature {
  return {
    tags: [{ name: 'auth', description: 'Access tokens' }],
    routes: [
      defineRoute({
        operationId: 'getToken',
        method: 'post',
        path: '/oauth/token',
        tags: ['auth'],
        auth: 'none',
        summary: 'Exchange an API key pair for an access token (OAuth 2.0 client credentials)',
        description:
          'RFC 6749 §4.4. Send the key id and secret with HTTP Basic (`client_secret_basic`: each form-urlencoded, then joined with ":" and base64-encoded) or as `client_id`/`client_secret` in the body (`client_secret_post`), not both. Errors follow RFC 6749 §5.2.',
        request: {
          body: {
            schema: tokenRequestSchema,
            contentType: FORM,
            reader: 'form',
            maxBytes: TOKEN_REQUEST_MAX_BYTES,
            // The grant's own rules (§4.4.2, §2.3.1) are checked by the exchange, in the OAuth format.
            parse: (body) => formSchema.safeParse(body).data,
          },
        },
        responses: {
          200: {
            description: 'A bearer token. Sent with `Cache-Control: no-store`.',
            content: { 'application/json': { schema: tokenResponseSchema } },
          },
          400: {
            description:
              '`invalid_request` (a malformed request, a body that is not a form), `unsupported_grant_type` or `invalid_scope`.',
            content: oauthJson,
          },
          401: {
            description:
              '`invalid_client`: unknown key, wrong secret or revoked key. With `WWW-Authenticate: Basic`.',
            content: oauthJson,
          },
          413: {
            description: `\`invalid_request\`: the body is larger than ${TOKEN_REQUEST_MAX_BYTES} bytes.`,
            content: oauthJson,
          },
          415: { description: 'Not used: a body in another media type is a 400 `invalid_request`.' },
        },
        // Failures before the exchange (body limits, media type, unreadable bodies) in the OAuth format.
        onError: (error, _req, res) => {
          if (error.status >= 500) return false;
          if (error.code === 'payload_too_large') {
            sendError(res, 413, oauthError('invalid_request', error.message));
          } else if (error.code === 'unsupported_media_type') {
            sendError(res, 400, oauthError('invalid_request', `The token request body must be ${FORM}`));
          } else {
            sendError(res, 400, oauthError('invalid_request', 'The token request body could not be read'));
          }
          return true;
        },
        handler: async ({ body, req, res }) => {
          const result = await exchangeClientCredentials(deps, {
            isForm: Boolean(req.is(FORM)),
            authorization: req.headers.authorization,
            form: body,
          });
          if (!result.ok) {
            sendError(res, result.error.status, result.error);
            return;
          }
          return ok(result.value, noStore);
        },
      }),
    ],
  };
}
