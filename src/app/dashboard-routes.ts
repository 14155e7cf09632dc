/**
 * Serves the built dashboard at /dashboard/ from the API process (same origin as /v1 and /auth):
 * hashed assets cached for a year, index.html never cached, every extension-less /dashboard/* path
 * answered with index.html (the app routes in the browser), a strict CSP, and 503 when not built.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { Router, type RequestHandler } from 'express';

/** Scripts, styles, images and requests from this origin only; never framed. */
export const dashboardCsp =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";

export function dashboardRoutes(distDir: string): Router {
  const router = Router();
  const index = path.join(distDir, 'index.html');

  const headers: RequestHandler = (_req, res, next) => {
    res.set('Content-Security-Policy', dashboardCsp);
    res.set('X-Frame-Options', 'DENY');
    res.set('Referrer-Policy', 'same-origin');
    next();
  };

  router.use('/dashboard', headers, (req, res, next) => {
    const queryStart = req.originalUrl.indexOf('?');
    const pathname = queryStart === -1 ? req.originalUrl : req.originalUrl.slice(0, queryStart);
    // The app's base is /dashboard/: relative asset URLs need the slash.
    if (pathname === '/dashboard') {
      res.redirect(301, `/dashboard/${queryStart === -1 ? '' : req.originalUrl.slice(queryStart)}`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      next();
      return;
    }
    if (!existsSync(index)) {
      res
        .status(503)
        .type('text/plain')
        .set('Cache-Control', 'no-store')
        .send(
          'The dashboard is not built. Run `npm run dashboard:build` (`npm start` and `pixelshift api` build it when they start).\n',
        );
      return;
    }
    next();
  });
  router.use(
    '/dashboard',
    express.static(distDir, {
      index: false,
      redirect: false,
      dotfiles: 'ignore',
      setHeaders(res, file) {
        // Vite names assets by content hash: a changed file is a new URL.
        if (file.startsWith(path.join(distDir, 'assets') + path.sep))
          res.set('Cache-Control', 'public, max-age=31536000, immutable');
        else res.set('Cache-Control', 'no-cache');
      },
    }),
  );
  // The app's own routes (/dashboard/, /dashboard/batches/b_1): index.html. A missing file (a last segment
  // with a dot: an extension, or a dotfile) stays a 404.
  router.use('/dashboard', (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || path.posix.basename(req.path).includes('.')) {
      next();
      return;
    }
    res.set('Cache-Control', 'no-cache');
    res.sendFile(index, (error) => {
      if (error) next(error);
    });
  });
  return router;
}
