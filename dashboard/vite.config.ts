/**
 * Builds the dashboard (a single-page app served by the API process at /dashboard/). The SDK is compiled
 * from its source, so the app always calls the API of this checkout. `npm run dashboard:build` and
 * `npm start` build it through Vite's JS API (src/app/dashboard-assets.ts); `npx vite dashboard` develops it,
 * proxying the API paths to a running `npm start`.
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = (relative: string) => decodeURIComponent(new URL(relative, import.meta.url).pathname);
const api = process.env.PIXELSHIFT_API_URL ?? 'http://localhost:3000';

export default defineConfig({
  root: here('.'),
  base: '/dashboard/',
  plugins: [react()],
  resolve: { alias: { '@pixelshift/client': here('../packages/client/src/index.ts') } },
  build: {
    outDir: here('dist'),
    emptyOutDir: true,
    // The CSP allows no inline script: the preload polyfill would be one.
    modulePreload: { polyfill: false },
    // Small images stay files too, so the CSP's img-src needs no more than 'self' and data:.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    proxy: {
      '/v1': { target: api, changeOrigin: false },
      '/auth': { target: api, changeOrigin: false },
      '/swagger': { target: api },
    },
  },
});
