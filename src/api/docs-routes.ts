import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

/** The OpenAPI document at `/swagger/v1/swagger.json` and Swagger UI at `/swagger/`. */
export function docsRoutes(document: OpenApiDocument): Router {
  const router = Router();
  router.get('/swagger/v1/swagger.json', (_req, res) => {
    res.json(document);
  });
  // Swagger UI loads its assets relative to the page, which only resolve under `/swagger/`. A relative
  // redirect keeps working behind a reverse proxy that mounts the API under a prefix.
  router.get('/swagger', (req, res, next) => {
    if (req.path === '/swagger') res.redirect(301, 'swagger/');
    else next();
  });
  // swagger-ui-dist ships a demo index.html (the Petstore); ours is the page at /swagger/.
  router.get('/swagger/index.html', (_req, res) => {
    res.redirect(301, './');
  });
  // The UI fetches the document (relative to /swagger/) instead of embedding a second copy of it.
  const uiOptions = { swaggerUrl: 'v1/swagger.json', customSiteTitle: 'pixelshift API' };
  router.use('/swagger', swaggerUi.serveFiles(undefined, uiOptions), swaggerUi.setup(undefined, uiOptions));
  return router;
}
