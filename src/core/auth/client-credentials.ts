/**
 * Reading an OAuth 2.0 client-credentials token request (RFC 6749 §2.3.1, §3.2, §4.4.2) — pure, no I/O.
 * Deciding whether the credentials are good is the caller's job (api-keys.ts).
 */
import { ok, refused, type Result } from '../result.js';

/** The RFC 6749 §5.2 error codes this server answers with. */
export const oauthErrorCodes = [
  'invalid_request',
  'invalid_client',
  'unsupported_grant_type',
  'invalid_scope',
] as const;
export type OAuthErrorCode = (typeof oauthErrorCodes)[number];

export interface OAuthError {
  /** 400, or 401 for invalid_client (RFC 6749 §5.2). */
  status: 400 | 401;
  error: OAuthErrorCode;
  description: string;
}

export interface TokenRequestInput {
  /** Whether the body was `application/x-www-form-urlencoded` (the only encoding §4.4.2 allows). */
  isForm: boolean;
  authorization: string | undefined;
  /** The parsed form: a value is an array when the parameter was repeated. */
  form: Record<string, unknown> | undefined;
}

export interface ClientCredentialsRequest {
  clientId: string;
  clientSecret: string;
  /** The requested scope, when one was given (we define none). */
  scope: string | undefined;
  method: 'client_secret_basic' | 'client_secret_post';
}

export type ParsedTokenRequest = Result<ClientCredentialsRequest, OAuthError>;

export function oauthError(error: OAuthErrorCode, description: string): OAuthError {
  return { status: error === 'invalid_client' ? 401 : 400, error, description };
}

const fail = (error: OAuthErrorCode, description: string): ParsedTokenRequest =>
  refused(oauthError(error, description));

export function parseTokenRequest(input: TokenRequestInput): ParsedTokenRequest {
  if (!input.isForm || input.form === undefined) {
    return fail('invalid_request', 'The token request body must be application/x-www-form-urlencoded');
  }
  const params = new Map<string, string>();
  for (const [name, value] of Object.entries(input.form)) {
    // §3.2: parameters must not repeat; §3.1/§3.2: empty ones count as omitted, unknown ones are ignored.
    if (Array.isArray(value)) return fail('invalid_request', `The parameter ${name} is repeated`);
    if (typeof value === 'string' && value !== '') params.set(name, value);
  }

  const grantType = params.get('grant_type');
  if (grantType === undefined) return fail('invalid_request', 'The grant_type parameter is missing');
  if (grantType !== 'client_credentials') {
    return fail('unsupported_grant_type', 'Only the client_credentials grant is supported');
  }

  const bodyId = params.get('client_id');
  const bodySecret = params.get('client_secret');
  const scope = params.get('scope');

  if (input.authorization !== undefined) {
    // §2.3: a client must not use more than one authentication method in one request.
    if (bodySecret !== undefined) {
      return fail(
        'invalid_request',
        'Send the client credentials either in HTTP Basic or in the body, not both',
      );
    }
    const basic = parseBasicCredentials(input.authorization);
    if (!basic)
      return fail('invalid_client', 'The client credentials in the Authorization header are malformed');
    if (bodyId !== undefined && bodyId !== basic.id) {
      return fail('invalid_request', 'The client_id in the body differs from the one in HTTP Basic');
    }
    return ok({ clientId: basic.id, clientSecret: basic.secret, scope, method: 'client_secret_basic' });
  }
  if (bodyId !== undefined && bodySecret !== undefined) {
    return ok({ clientId: bodyId, clientSecret: bodySecret, scope, method: 'client_secret_post' });
  }
  return fail(
    'invalid_client',
    'Client authentication is missing: use HTTP Basic with the key id and secret',
  );
}

/**
 * HTTP Basic as RFC 6749 §2.3.1 defines it for OAuth: the client id and secret are each
 * `application/x-www-form-urlencoded` BEFORE being joined with ":" and base64-encoded. So after decoding
 * the base64 we split on the first ":" and form-decode each half (`+` is a space, `%XX` a byte).
 */
export function parseBasicCredentials(header: string): { id: string; secret: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const id = formDecode(decoded.slice(0, colon));
  const secret = formDecode(decoded.slice(colon + 1));
  if (id === undefined || secret === undefined || id === '' || secret === '') return undefined;
  return { id, secret };
}

function formDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return undefined; // a stray "%" that is not an escape
  }
}
