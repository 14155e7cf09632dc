/**
 * Mounts route definitions on Express: each route gets its authentication, its body reader (with the
 * media types and size limit it declares), the validation of its params, query, headers and body, and
 * its handler; every known path answers a method it does not have with 405 and an `Allow` header.
 */
import express, {
  type ErrorRequestHandler,
  type Express,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { trace } from '@opentelemetry/api';
import type { z } from 'zod';
import { translateZodIssues } from '../core/graph/zod-issues.js';
import { ApiError, parseRequestBody } from './api-error.js';
import { principalOf } from './bearer.js';
import {
  acceptsAnyMediaType,
  expressPath,
  type Representation,
  type Representations,
  type Route,
  type RouteBody,
} from './define-route.js';
import { toApiError } from './error-handler.js';

export interface MountOptions {
  /** The server's general body limit (`PIXELSHIFT_MAX_BODY_BYTES`). */
  maxBodyBytes: number;
  /**
   * Authenticates `/v1` for every route that needs an account (and for unknown `/v1` paths): a bearer
   * token or a dashboard session (session-auth.ts).
   */
  requireAccount: RequestHandler;
}

/**
 * Routes that need no account token are mounted first; then the account check covers all of `/v1`, so
 * an unknown `/v1` path or a wrong method on a token route reveals nothing to a caller without a token.
 */
export function mountRoutes(app: Express, routes: readonly Route[], options: MountOptions): void {
  const methodsByPath = new Map<string, Set<string>>();
  for (const route of routes) {
    const methods = methodsByPath.get(route.path) ?? new Set<string>();
    methods.add(route.method.toUpperCase());
    methodsByPath.set(route.path, methods);
  }
  const publicOnly = (path: string) => routes.every((route) => route.path !== path || route.auth === 'none');

  for (const route of routes.filter((r) => r.auth === 'none')) mountRoute(app, route, options);
  for (const [path, methods] of methodsByPath) {
    if (publicOnly(path)) app.all(expressPath(path), methodNotAllowed(methods));
  }
  app.use('/v1', options.requireAccount);
  for (const route of routes.filter((r) => r.auth === 'bearer')) mountRoute(app, route, options);
  for (const [path, methods] of methodsByPath) {
    if (!publicOnly(path)) app.all(expressPath(path), methodNotAllowed(methods));
  }
}

/** Every method a path has, GET implying HEAD (Express answers HEAD with the GET route). */
export function allowedMethods(methods: ReadonlySet<string>): string[] {
  const allowed = [...methods];
  if (methods.has('GET')) allowed.push('HEAD');
  return [...allowed, 'OPTIONS'].sort();
}

function methodNotAllowed(methods: ReadonlySet<string>): RequestHandler {
  const allow = allowedMethods(methods).join(', ');
  return (req, res, next) => {
    if (req.method === 'OPTIONS') {
      res.set('Allow', allow).status(204).end();
      return;
    }
    next(
      new ApiError(
        405,
        'method_not_allowed',
        `${req.method} is not allowed here; allowed: ${allow}`,
        undefined,
        {
          Allow: allow,
        },
      ),
    );
  };
}

function mountRoute(app: Express, route: Route, options: MountOptions): void {
  // When tracing is on, the request's server span is named by its route (`POST /v1/batches`), not its URL.
  const spanName = `${route.method.toUpperCase()} ${route.path}`;
  const handlers: RequestHandler[] = [
    (_req, _res, next) => {
      trace.getActiveSpan()?.updateName(spanName).setAttribute('http.route', route.path);
      next();
    },
  ];
  if (route.authenticate) {
    const authenticate = route.authenticate;
    handlers.push((req, res, next) => {
      authenticate(req, res);
      next();
    });
  }
  const body = route.request?.body;
  const bodyLimit = Math.min(body?.maxBytes ?? options.maxBodyBytes, options.maxBodyBytes);
  if (body) handlers.push(requireMediaType(body), bodyReader(body, bodyLimit));

  const negotiate = route.representations ? negotiator(route.representations) : undefined;

  handlers.push(async (req, res) => {
    const representation = negotiate?.(req, res);
    const params = validatePart(route.request?.params, req.params, 'path');
    const query = validatePart(route.request?.query, req.query, 'query');
    const headers = validatePart(route.request?.headers, declaredHeaders(route, req), 'headers');
    const parsedBody = body ? parseBody(body, req.body as unknown) : undefined;
    const principal = route.auth === 'bearer' ? principalOf(res) : undefined;
    const answer = await route.handler({
      params,
      query,
      headers,
      body: parsedBody,
      principal: principal!,
      req,
      res,
    });
    if (!answer) return;
    res.status(answer.status);
    if (answer.headers) res.set(answer.headers);
    if (answer.body === undefined) res.end();
    else if (representation) res.type(representation.type).send(representation.render(answer.body));
    else res.json(answer.body);
  });

  const routeErrors: ErrorRequestHandler = (error: unknown, req, res, next) => {
    // Body-reader errors name this route's limit; everything else keeps its own status.
    const apiError = toApiError(error, bodyLimit);
    if (route.onError?.(apiError, req, res) === true) return;
    next(apiError.status >= 500 && !(error instanceof ApiError) ? error : apiError);
  };
  app[route.method](expressPath(route.path), ...handlers, routeErrors);
}

const jsonMediaTypes = ['application/json', 'application/*+json'];

type ChosenRepresentation = Representation<unknown> & { type: string };

/**
 * Content negotiation of a route with representations besides JSON: the one its answer takes (undefined
 * for JSON), chosen by the `Accept` header's preferences, JSON when the client states none. A request that
 * accepts none of them is refused before any work is done; the refusal is JSON, the service's one error
 * format.
 */
function negotiator(
  representations: Representations<unknown>,
): (req: Request, res: Response) => ChosenRepresentation | undefined {
  const offered = ['application/json', ...Object.keys(representations)];
  const described = offered.join(' or ');
  return (req, res) => {
    // Caches must key the answer on Accept, whichever representation this one is.
    res.vary('Accept');
    const chosen = req.accepts(offered);
    if (chosen === false) {
      throw new ApiError(406, 'not_acceptable', `The response is available as ${described} only`);
    }
    const representation = representations[chosen];
    return representation ? { ...representation, type: chosen } : undefined;
  };
}

function acceptedTypes(body: RouteBody<z.ZodType, unknown>): readonly string[] {
  if (body.accept) return body.accept;
  const documented = typeof body.contentType === 'string' ? [body.contentType] : [...body.contentType];
  return documented.includes('application/json')
    ? [...new Set([...documented, ...jsonMediaTypes])]
    : documented;
}

/** True when the request carries a body (a `Content-Length: 0` POST does not). */
function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** A body in another media type is refused with 415 instead of being ignored. */
function requireMediaType(body: RouteBody<z.ZodType, unknown>): RequestHandler {
  // Even a body without a Content-Type: `req.is` would refuse it.
  if (acceptsAnyMediaType(body)) return (_req, _res, next) => next();
  const types = [...acceptedTypes(body)];
  const described = types.filter((type) => !type.includes('*')).join(' or ');
  return (req, _res, next) => {
    if (hasBody(req) && !req.is(types)) {
      next(new ApiError(415, 'unsupported_media_type', `The request body must be ${described}`));
      return;
    }
    next();
  };
}

function bodyReader(body: RouteBody<z.ZodType, unknown>, limit: number): RequestHandler {
  const type = [...acceptedTypes(body)];
  switch (body.reader ?? 'json') {
    case 'json':
      return express.json({ limit, strict: true, type });
    case 'text':
      return express.text({ limit, type, defaultCharset: 'utf-8' });
    case 'raw':
      return express.raw({ limit, type: () => true });
    case 'form':
      // Flat parameters: a repeated one arrives as an array, and the route refuses it.
      return express.urlencoded({ extended: false, limit, parameterLimit: 32, type });
  }
}

function parseBody(body: RouteBody<z.ZodType, unknown>, raw: unknown): unknown {
  if (body.parse) return body.parse(raw);
  return parseRequestBody(body.schema, raw, body.name, body.invalidMessage);
}

const partNames = { path: 'the path', query: 'the query', headers: 'the headers' } as const;

/** Params, query and headers that break their schema are a 400 with every issue. */
function validatePart(schema: z.ZodType | undefined, value: unknown, part: keyof typeof partNames): unknown {
  if (!schema) return value;
  const parsed = schema.safeParse(value ?? {}, { reportInput: true });
  if (parsed.success) return parsed.data;
  throw new ApiError(
    400,
    'invalid_request',
    part === 'headers' ? 'The headers are invalid' : `The ${part} is invalid`,
    translateZodIssues(parsed.error.issues, [], partNames[part]),
  );
}

/** The declared headers by their documented names (Express keys them in lower case). */
function declaredHeaders(route: Route, req: Request): Record<string, string | undefined> {
  const schema = route.request?.headers as z.ZodObject | undefined;
  const values: Record<string, string | undefined> = {};
  for (const name of Object.keys(schema?.shape ?? {})) {
    const value = req.get(name);
    if (value !== undefined) values[name] = value;
  }
  return values;
}
