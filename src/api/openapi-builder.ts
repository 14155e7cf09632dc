/**
 * The OpenAPI 3.1 document, generated from the route definitions the server mounts (define-route.ts)
 * and the zod schemas they validate with. Schemas named with `.meta({ id })` become components; the
 * Transform Unit union carries a `discriminator` with a mapping, so generated clients need no fix-ups.
 */
import {
  OpenAPIRegistry,
  OpenApiGeneratorV31,
  type ResponseConfig,
  type RouteConfig as OpenApiRouteConfig,
} from '@asteasolutions/zod-to-openapi';
import type { z } from 'zod';
import { connectionNamePattern } from '../core/graph/units.js';
import { isPlainObject } from '../core/plain-object.js';
import { errorResponseSchema } from './schemas.js';
import { acceptsAnyMediaType, type ApiFeature, type Route } from './define-route.js';

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

export interface OpenApiOptions {
  /** Absolute base URL clients should use (PUBLIC_URL); relative URLs otherwise. */
  publicUrl?: string | undefined;
  /**
   * The storage connections this server has. Every field that names one is documented as one of them:
   * the server refuses any other name (`unknown_connection`), which a pattern alone would not say.
   */
  connectionNames?: readonly string[];
}

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });

/** A documented error response in the API's error format. */
export function errorResponse(description: string): ResponseConfig {
  return { description, content: json(errorResponseSchema) };
}

/** The responses every route of its kind has; a route's own entries take precedence. */
function commonResponses(route: Route): Record<number, ResponseConfig> {
  const responses: Record<number, ResponseConfig> = {};
  const request = route.request ?? {};
  if (request.params || request.query || request.headers) {
    responses[400] = errorResponse(
      'A path parameter, query parameter or header is invalid (`invalid_request`).',
    );
  }
  if (request.body) {
    responses[400] = errorResponse(
      request.params || request.query || request.headers
        ? 'Malformed body (`invalid_json`), or an invalid parameter or header (`invalid_request`).'
        : 'Malformed body (`invalid_json`).',
    );
    responses[413] = errorResponse('Body larger than the limit (`payload_too_large`).');
    if (!acceptsAnyMediaType(request.body)) {
      responses[415] = errorResponse('Body in another media type (`unsupported_media_type`).');
    }
    if (!request.body.parse) {
      responses[422] = errorResponse(
        'The body does not match the schema (`invalid_body`, every issue by pointer).',
      );
    }
  }
  if (route.representations) {
    const offered = ['application/json', ...Object.keys(route.representations)].join(', ');
    responses[406] = errorResponse(
      `The \`Accept\` header allows none of ${offered} (\`not_acceptable\`); the error itself is JSON.`,
    );
  }
  if (route.auth === 'bearer') {
    responses[401] = errorResponse(
      'Missing, expired, forged or revoked access token, or an ended or expired dashboard session (`unauthorized`), with `WWW-Authenticate: Bearer`.',
    );
    if (route.method !== 'get') {
      responses[403] ??= errorResponse(
        'A dashboard-session request without the session’s `X-CSRF-Token` or with another `Origin` (`csrf_failed`).',
      );
    }
  }
  responses[500] = errorResponse(
    'Unexpected failure (`internal_error`); the message never carries internal details.',
  );
  return responses;
}

const mediaTypes = (types: string | readonly string[]): readonly string[] =>
  typeof types === 'string' ? [types] : types;

function toOpenApiRoute(route: Route): OpenApiRouteConfig {
  const { params, query, headers, body } = route.request ?? {};
  return {
    method: route.method,
    path: route.path,
    operationId: route.operationId,
    tags: [...route.tags],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(route.security ? { security: route.security } : route.auth === 'none' ? { security: [] } : {}),
    request: {
      ...(params ? { params: params as z.ZodObject } : {}),
      ...(query ? { query: query as z.ZodObject } : {}),
      ...(headers ? { headers: headers as z.ZodObject } : {}),
      ...(body
        ? {
            body: {
              required: body.required ?? true,
              content: Object.fromEntries(
                mediaTypes(body.contentType).map((type) => [type, { schema: body.schema }]),
              ),
            },
          }
        : {}),
    },
    responses: withRepresentations(route, { ...commonResponses(route), ...route.responses }),
  };
}

/** Each 2xx response with a JSON body also lists the route's other representations of that body. */
function withRepresentations(
  route: Route,
  responses: Record<number, ResponseConfig>,
): Record<number, ResponseConfig> {
  if (!route.representations) return responses;
  const alternatives = Object.fromEntries(
    Object.entries(route.representations).map(([type, { schema }]) => [type, { schema }]),
  );
  const result: Record<number, ResponseConfig> = {};
  for (const [status, response] of Object.entries(responses)) {
    const isSuccess = status.startsWith('2') && response.content?.['application/json'] !== undefined;
    result[Number(status)] = isSuccess
      ? { ...response, content: { ...response.content, ...alternatives } }
      : response;
  }
  return result;
}

export function buildOpenApiDocument(
  features: readonly ApiFeature[],
  options: OpenApiOptions = {},
): OpenApiDocument {
  const base = options.publicUrl?.replace(/\/+$/, '') ?? '';
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'oauth2', {
    type: 'oauth2',
    description: 'Client credentials: an API key id and secret exchanged at /oauth/token.',
    flows: { clientCredentials: { tokenUrl: `${base}/oauth/token`, scopes: {} } },
  });
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An access token from /oauth/token.',
  });
  registry.registerComponent('securitySchemes', 'sessionCookie', {
    type: 'apiKey',
    in: 'cookie',
    name: 'pixelshift_session',
    description:
      'A dashboard session from POST /auth/sign-in. A cookie request that changes state (not GET, HEAD, OPTIONS) also needs the header X-CSRF-Token with the session’s csrfToken and an Origin header with this server’s origin, or it is refused with 403 `csrf_failed`. An Authorization header always wins over the cookie.',
  });
  for (const feature of features) {
    for (const route of feature.routes) registry.registerPath(toOpenApiRoute(route));
    feature.document?.(registry);
  }
  const tags = new Map<string, string>();
  for (const feature of features) for (const tag of feature.tags ?? []) tags.set(tag.name, tag.description);

  const document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'pixelshift',
      version: '1.0.0',
      description:
        'Self-hostable image transform service. Submit batches of Transform Graphs (source → operations → format → sink, with branches); they run durably and write to your storage. Errors are `{ "error": { "code", "message", "issues"? } }` with stable codes; the token endpoint answers in the OAuth 2.0 error format.',
    },
    servers: [{ url: base === '' ? '/' : base }],
    security: [{ oauth2: [] }, { bearerAuth: [] }, { sessionCookie: [] }],
    tags: [...tags].map(([name, description]) => ({ name, description })),
  });
  if (options.connectionNames?.length) enumerateConnectionNames(document, options.connectionNames);
  return document;
}

/** Adds the configured names as an `enum` to every string schema with the connection-name pattern. */
function enumerateConnectionNames(document: OpenApiDocument, names: readonly string[]): void {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (!isPlainObject(node)) return;
    if (node.type === 'string' && node.pattern === connectionNamePattern.source) node.enum = [...names];
    Object.values(node).forEach(visit);
  };
  visit(document);
}
