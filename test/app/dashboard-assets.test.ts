/**
 * The dashboard's build and serving: `ensureDashboardBuilt` builds once and again only when the sources
 * changed; the API process serves the build at /dashboard/ with a SPA fallback, cache headers by kind, a
 * strict CSP, nothing outside the build, and 503 when there is no build.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import '../support/response-contract.js';
import {
  buildHashFile,
  dashboardSourceHash,
  ensureDashboardBuilt,
  prepareDashboard,
} from '../../src/app/dashboard-assets.js';
import { dashboardCsp } from '../../src/app/dashboard-routes.js';
import { createApp } from '../../src/app/http-app.js';
import { createTestApi, type TestApi } from '../support/api-harness.js';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'pixelshift-dashboard-'));
const outDir = path.join(scratch, 'dist');
let api: TestApi;
let firstBuild: { built: boolean; outDir: string };

before(async () => {
  firstBuild = await ensureDashboardBuilt({ outDir });
  api = await createTestApi();
});
after(async () => {
  await api?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const appServing = (dashboardDir: string) =>
  createApp({
    db: api.db,
    orchestrator: api.orchestrator,
    config: api.config,
    jwtSecret: api.jwtSecret,
    dashboardDir,
  });

function assetNamed(extension: string): string {
  const name = readdirSync(path.join(outDir, 'assets')).find((file) => file.endsWith(extension));
  assert.ok(name, `no ${extension} asset in ${outDir}/assets`);
  return name;
}

describe('ensureDashboardBuilt', () => {
  test('when the output folder is empty, then it builds index.html and content-hashed assets, and records the source hash', async () => {
    assert.equal(firstBuild.built, true);
    assert.equal(firstBuild.outDir, outDir);
    const index = readFileSync(path.join(outDir, 'index.html'), 'utf8');
    assert.match(
      index,
      /<script type="module" crossorigin src="\/dashboard\/assets\/index-[\w-]+\.js"><\/script>/,
    );
    assert.match(assetNamed('.js'), /^index-[\w-]{6,}\.js$/);
    assert.match(assetNamed('.css'), /^index-[\w-]{6,}\.css$/);
    assert.equal(readFileSync(path.join(outDir, buildHashFile), 'utf8').trim(), await dashboardSourceHash());
    // No inline script: the CSP allows none.
    assert.doesNotMatch(index, /<script(?![^>]*\bsrc=)[^>]*>/);
  });

  test('when the sources did not change, then nothing is built again', async () => {
    const before = readFileSync(path.join(outDir, 'index.html'), 'utf8');

    const again = await ensureDashboardBuilt({ outDir });

    assert.equal(again.built, false);
    assert.equal(readFileSync(path.join(outDir, 'index.html'), 'utf8'), before);
  });

  test('when the recorded hash differs from the sources, then it builds again and records the new hash, leaving no staging folder', async () => {
    writeFileSync(path.join(outDir, buildHashFile), 'stale\n');

    const again = await ensureDashboardBuilt({ outDir });

    assert.equal(again.built, true);
    assert.equal(readFileSync(path.join(outDir, buildHashFile), 'utf8').trim(), await dashboardSourceHash());
    assert.deepEqual(readdirSync(scratch), ['dist']);
  });
});

describe('prepareDashboard', () => {
  test('when the build cannot be written, then the failure is reported and the start goes on with the output folder', async () => {
    const file = path.join(scratch, 'not-a-folder');
    writeFileSync(file, 'x');
    const lines: string[] = [];

    const dir = await prepareDashboard((line) => lines.push(line), path.join(file, 'dist'));

    assert.equal(dir, path.join(file, 'dist'));
    assert.match(lines.at(-1) ?? '', /^the dashboard was not built \(.+\); \/dashboard\/ answers 503/);
    rmSync(file);
  });
});

describe('serving /dashboard/', () => {
  test('when the app root is asked for, then index.html is answered uncached with the CSP and no framing', async () => {
    const res = await request(appServing(outDir)).get('/dashboard/').expect(200);

    assert.match(res.headers['content-type'] ?? '', /^text\/html/);
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.equal(res.headers['content-security-policy'], dashboardCsp);
    assert.match(
      dashboardCsp,
      /default-src 'self'; img-src 'self' data:; style-src 'self'; connect-src 'self'; frame-ancestors 'none'/,
    );
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.text, readFileSync(path.join(outDir, 'index.html'), 'utf8'));
  });

  test('when an app route without a file extension is asked for, then index.html is answered (the browser routes it)', async () => {
    const app = appServing(outDir);
    for (const route of [
      '/dashboard/keys',
      '/dashboard/batches/b_01jabc',
      '/dashboard/sign-in?error=link_invalid',
    ]) {
      const res = await request(app).get(route).expect(200);
      assert.match(res.text, /<div id="root"><\/div>/, route);
      assert.equal(res.headers['cache-control'], 'no-cache', route);
    }
  });

  test('when /dashboard is asked for without its slash, then it redirects to /dashboard/ keeping the query', async () => {
    const res = await request(appServing(outDir)).get('/dashboard?from=link').expect(301);

    assert.equal(res.headers.location, '/dashboard/?from=link');
  });

  test('when a hashed asset is asked for, then it is served with a year-long immutable cache', async () => {
    const js = assetNamed('.js');
    const res = await request(appServing(outDir)).get(`/dashboard/assets/${js}`).expect(200);

    assert.match(res.headers['content-type'] ?? '', /javascript/);
    assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(res.headers['content-security-policy'], dashboardCsp);
    const head = await request(appServing(outDir)).head(`/dashboard/assets/${js}`).expect(200);
    assert.equal(
      head.headers['content-length'],
      String(readFileSync(path.join(outDir, 'assets', js)).length),
    );
  });

  test('when a missing file, the build record or a path outside the build is asked for, then the answer is 404 and no file outside is read', async () => {
    const app = appServing(outDir);
    await request(app).get('/dashboard/assets/missing-123.js').expect(404);
    await request(app).get(`/dashboard/${buildHashFile}`).expect(404);
    for (const hostile of [
      '/dashboard/..%2f..%2fpackage.json',
      '/dashboard/%2e%2e/%2e%2e/package.json',
      '/dashboard/assets/..%2F..%2F..%2Fetc%2Fpasswd',
    ]) {
      const res = await request(app).get(hostile);
      assert.ok(res.status === 404 || res.status === 400 || res.status === 403, `${hostile}: ${res.status}`);
      assert.doesNotMatch(res.text, /"dependencies"|root:/, hostile);
    }
  });

  test('when a path is oversized or carries a NUL byte, then the answer is a 4xx or the app page, never a 5xx', async () => {
    const app = appServing(outDir);
    for (const odd of [
      `/dashboard/${'a'.repeat(4000)}`,
      '/dashboard/%00',
      '/dashboard/%E0%A4%A',
      '/dashboard/x.js%00.html',
    ]) {
      const res = await request(app).get(odd);
      assert.ok(res.status < 500, `${odd.slice(0, 40)}: ${res.status}`);
    }
  });

  test('when something other than GET or HEAD is sent to the dashboard, then it is not served', async () => {
    const res = await request(appServing(outDir)).post('/dashboard/keys').send({});

    assert.equal(res.status, 404);
    assert.doesNotMatch(res.text, /<div id="root">/);
  });

  test('when there is no build, then /dashboard/ answers 503 with a plain message and the API still answers', async () => {
    const empty = mkdtempSync(path.join(scratch, 'empty-'));
    const app = appServing(empty);
    try {
      const res = await request(app).get('/dashboard/batches').expect(503);

      assert.match(res.headers['content-type'] ?? '', /^text\/plain/);
      assert.match(res.text, /not built.*npm run dashboard:build/s);
      assert.equal(res.headers['cache-control'], 'no-store');
      await request(app).get('/healthz').expect(200);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
