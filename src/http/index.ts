export { createApp, type AppDeps } from './app.js';
export { startHttpServer, type HttpServer } from './server.js';
export { buildOpenApiDocument, type OpenApiDocument } from './openapi.js';
export { ApiError, apiErrorCodes, type ApiErrorCode, type ApiIssue } from './api-error.js';
