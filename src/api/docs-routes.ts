/**
 * The OpenAPI document at `/swagger/v1/swagger.json` (3.1), its 3.0.3 rendering at
 * `/swagger/v1/swagger-3.0.json` for tools that read only 3.0, and Swagger UI at `/swagger/`.
 */
import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import { z } from 'zod';
import { defineRoute, ok, type ApiFeature } from './define-route.js';
import type { OpenApiDocument } from './openapi-builder.js';
import { toOpenApi30, type OpenApi30Document } from './openapi-30.js';

/** The document as a documented operation of its own, so generated clients and fuzzers can find it. */
export function docsFeature(document: () => OpenApiDocument): ApiFeature {
  // Rendered on first request: the 3.1 document is only complete once every feature is registered.
  let rendered30: OpenApi30Document | undefined;
  const documentResponse = (description: string) => ({
    200: {
      description,
      content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
    },
  });
  return {
    tags: [{ name: 'operations', description: 'Health, readiness, metrics' }],
    routes: [
      defineRoute({
        operationId: 'getOpenApiDocument',
        method: 'get',
        path: '/swagger/v1/swagger.json',
        tags: ['operations'],
        auth: 'none',
        summary: 'This OpenAPI 3.1 document',
        responses: documentResponse('The document.'),
        handler: () => ok(document()),
      }),
      defineRoute({
        operationId: 'getOpenApi30Document',
        method: 'get',
        path: '/swagger/v1/swagger-3.0.json',
        tags: ['operations'],
        auth: 'none',
        summary: 'The same document rendered as OpenAPI 3.0.3',
        description:
          'For tools that read only OpenAPI 3.0. Type-array nullables become `nullable`, `const` a one-value `enum`, numeric exclusive bounds the boolean form, `webhooks` the `x-webhooks` extension; JSON Schema keywords 3.0 lacks (`propertyNames`) are kept as `x-` extensions.',
        responses: documentResponse('The document in OpenAPI 3.0.3.'),
        handler: () => ok((rendered30 ??= toOpenApi30(document()))),
      }),
    ],
  };
}

/**
 * Swagger UI at `/swagger/`: pages, not API operations, so it is middleware rather than routes (the
 * route table stays equal to the document).
 */
export function swaggerUiPages(): Router {
  const router = Router();
  // Swagger UI loads its assets relative to the page, which only resolve under `/swagger/`. A relative
  // redirect keeps working behind a reverse proxy that mounts the API under a prefix.
  router.use('/swagger', (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') next();
    else if (req.originalUrl.split('?')[0] === '/swagger') res.redirect(301, 'swagger/');
    // swagger-ui-dist ships a demo index.html (the Petstore); ours is the page at /swagger/.
    else if (req.path === '/index.html') res.redirect(301, './');
    else next();
  });
  // The UI fetches the document (relative to /swagger/) instead of embedding a second copy of it.
  const uiOptions = { swaggerUrl: 'v1/swagger.json', customSiteTitle: 'pixelshift API' };
  router.use('/swagger', swaggerUi.serveFiles(undefined, uiOptions), swaggerUi.setup(undefined, uiOptions));
  return router;
}
