/**
 * One definition per route (docs/architecture.md §8). A route object holds the method,
 * the path in OpenAPI form, the schemas of its params, query, headers and body, its security, its
 * documented responses and its handler. The Express mount (`mount-routes.ts`), the request parsing and
 * the OpenAPI path (`openapi-builder.ts`) are all derived from it, so the document cannot drift from
 * what the server enforces.
 */
import type { OpenAPIRegistry, ResponseConfig } from '@asteasolutions/zod-to-openapi';
import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { ApiError } from './api-error.js';
import type { Principal } from './principal.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * How a route is authenticated. `bearer`: an account's access token or a dashboard session cookie (the
 * route sees its principal; session-auth.ts).
 * `none`: no account token; the route proves the caller itself (the token endpoint's key pair, an
 * inbound hook's signature, a storage connection's event token, an SNS signature) or is public.
 */
export type RouteAuth = 'bearer' | 'none';

/** How the raw body is read before it is validated. */
export type BodyReader = 'json' | 'text' | 'raw' | 'form';

export interface RouteBody<TSchema extends z.ZodType, TParsed> {
  /** The schema of the body as documented; also what validates it unless `parse` is given. */
  schema: TSchema;
  /** The documented media type(s); the first is the preferred one. */
  contentType: string | readonly string[];
  /**
   * Media types accepted (default: `contentType`, plus `application/*+json` for JSON bodies). The range
   * of every type (star, slash, star) takes a body of any media type or none, and never answers 415.
   */
  accept?: readonly string[];
  reader?: BodyReader;
  /** Whether a request must carry a body (default true). A missing optional body is parsed as `{}`. */
  required?: boolean;
  /** The largest body accepted; the server's general limit applies when this is larger or absent. */
  maxBytes?: number;
  /** How the body is called in messages, e.g. "the rule" (default "the request"). */
  name?: string;
  /** The message of the 422 when the body does not match the schema. */
  invalidMessage?: string;
  /**
   * A validator for bodies whose rules go beyond one schema (a batch of graphs, an SNS envelope): it
   * receives the body as read and returns the typed value or throws an ApiError.
   */
  parse?: (body: unknown) => TParsed;
}

type Infer<T> = T extends z.ZodType ? z.output<T> : undefined;

export interface RouteInput<P, Q, H, B> {
  params: P;
  query: Q;
  headers: H;
  body: B;
  /** The caller of a `bearer` route: an access token or a dashboard session, of one account. */
  principal: Principal;
  req: Request;
  res: Response;
}

/** What a handler answers: a JSON body with a status, or nothing when it wrote the response itself. */
export interface Reply<TBody = unknown> {
  status: number;
  body?: TBody;
  headers?: Readonly<Record<string, string>>;
}

/**
 * A representation of a route's answer besides JSON (CSV, say), chosen by the request's `Accept` header:
 * the handler still returns the JSON body, and `render` turns it into this media type's text.
 */
export interface Representation<TBody> {
  /** The documented body, e.g. `z.string()` with a description of the columns and an example. */
  schema: z.ZodType;
  render: (body: TBody) => string;
}

/** Media type (without parameters, e.g. `text/csv`) → its representation. */
export type Representations<TBody> = Readonly<Record<string, Representation<TBody>>>;

export interface RouteConfig<
  TParams extends z.ZodType | undefined,
  TQuery extends z.ZodType | undefined,
  THeaders extends z.ZodType | undefined,
  TBodySchema extends z.ZodType,
  TBody,
  TReply = unknown,
> {
  operationId: string;
  method: HttpMethod;
  /** OpenAPI form: `/v1/batches/{batchId}`. */
  path: string;
  tags: readonly string[];
  summary: string;
  description?: string;
  auth: RouteAuth;
  /** The document's security requirement when it is not the account token (e.g. a hook signature). */
  security?: Record<string, string[]>[];
  request?: {
    params?: TParams;
    query?: TQuery;
    headers?: THeaders;
    body?: RouteBody<TBodySchema, TBody>;
  };
  /** The route's own responses; the ones every route of its kind has (401, 413, 500, …) are added. */
  responses: Record<number, ResponseConfig>;
  /**
   * Media types the answer may take besides JSON (which stays the default). The document lists them beside
   * JSON in every 2xx response; a request whose `Accept` allows none of them, nor JSON, gets 406
   * `not_acceptable` before the handler runs. Errors are JSON whatever the client accepts.
   */
  representations?: Representations<TReply>;
  /** Runs before the body is read: authenticates callers of a `none` route (throw an ApiError to refuse). */
  authenticate?: (req: Request, res: Response) => void;
  /** Sees every error of this route before it is rendered (to count it, or to render it itself). */
  onError?: (error: ApiError, req: Request, res: Response) => boolean | void;
  handler: (
    input: RouteInput<Infer<TParams>, Infer<TQuery>, Infer<THeaders>, TBody>,
  ) => Promise<Reply<TReply> | void> | Reply<TReply> | void;
}

/** A route with its types erased, as the mount and the document builder see it. */
export type Route = RouteConfig<
  z.ZodType | undefined,
  z.ZodType | undefined,
  z.ZodType | undefined,
  z.ZodType,
  unknown
>;

/**
 * Defines a route. The handler receives params, query, headers and body already validated and typed
 * by the schemas given (or by the body's own `parse`).
 */
export function defineRoute<
  TParams extends z.ZodType | undefined = undefined,
  TQuery extends z.ZodType | undefined = undefined,
  THeaders extends z.ZodType | undefined = undefined,
  TBodySchema extends z.ZodType = z.ZodType,
  TBody = z.output<TBodySchema>,
  TReply = unknown,
>(config: RouteConfig<TParams, TQuery, THeaders, TBodySchema, TBody, TReply>): Route {
  return config as unknown as Route;
}

/** One API feature: its routes, the tags they use, and anything else it adds to the document. */
export interface ApiFeature {
  routes: readonly Route[];
  tags?: readonly { name: string; description: string }[];
  /** Components or `webhooks` entries beyond the routes (e.g. the payloads a feature sends out). */
  document?: (registry: OpenAPIRegistry) => void;
}

/** 200 with a JSON body (or one of the route's other representations of it). */
export function ok<TBody>(body: TBody, headers?: Record<string, string>): Reply<TBody> {
  return { status: 200, body, ...(headers ? { headers } : {}) };
}

/** A status with a JSON body (201, 202). */
export function reply(status: number, body: unknown, headers?: Record<string, string>): Reply {
  return { status, body, ...(headers ? { headers } : {}) };
}

/** 204, no body. */
export const noContent: Reply = { status: 204 };

/** `Cache-Control: no-store`, for answers that carry a secret. */
export const noStore = { 'Cache-Control': 'no-store' } as const;

/** True when a body is taken in any media type (its `accept` has the range of every type): never a 415. */
export function acceptsAnyMediaType(body: Pick<RouteBody<z.ZodType, unknown>, 'accept'>): boolean {
  return body.accept?.includes('*/*') ?? false;
}

/** `/v1/batches/{batchId}` → `/v1/batches/:batchId` (a literal `:` in a segment is escaped for Express). */
export function expressPath(openApiPath: string): string {
  return openApiPath.replace(/:/g, '\\:').replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
}
