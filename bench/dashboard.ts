/**
 * The dashboard's first page, measured in one run on this machine (issue 13; a bench, never a timed test):
 * - Size: the JS and CSS that /dashboard/ loads (index.html's script, modulepreload and stylesheet tags),
 *   each fetched from the API process and gzipped (level 6, as a compressing proxy would), summed.
 * - First render: headless Chromium opens the Overview page with a signed-in session and a cold cache
 *   (a fresh context per run); the time from navigation start to the `<h1>` being visible, measured in
 *   the page's own clock, and the First Contentful Paint of the Performance API. Median of BENCH_RUNS
 *   (default 15) runs after BENCH_WARMUP (default 2) discarded ones.
 * Results go to bench/results/dashboard.json.
 */
import { gzipSync } from 'node:zlib';
import { launchBrowser, waitInPage } from '../test/support/browser.js';
import { startDashboardStack } from '../test/support/dashboard-stack.js';
import { describeMachine, percentile, printTable, round1, writeResult } from './lib.js';

const runs = Number(process.env.BENCH_RUNS ?? 15);
const warmup = Number(process.env.BENCH_WARMUP ?? 2);

interface Asset {
  url: string;
  kind: 'js' | 'css';
  bytes: number;
  gzipBytes: number;
}

/** The JS and CSS the first page's index.html refers to, as served. */
async function firstPageAssets(baseUrl: string): Promise<Asset[]> {
  const html = await (await fetch(`${baseUrl}/dashboard/`)).text();
  const urls = new Map<string, 'js' | 'css'>();
  for (const tag of html.match(/<(script|link)\b[^>]*>/g) ?? []) {
    const src = /\b(?:src|href)="([^"]+)"/.exec(tag)?.[1];
    if (!src) continue;
    if (tag.startsWith('<script')) urls.set(src, 'js');
    else if (/\brel="modulepreload"/.test(tag)) urls.set(src, 'js');
    else if (/\brel="stylesheet"/.test(tag)) urls.set(src, 'css');
  }
  const assets: Asset[] = [];
  for (const [src, kind] of urls) {
    const url = new URL(src, `${baseUrl}/dashboard/`).toString();
    const response = await fetch(url);
    if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
    const body = Buffer.from(await response.arrayBuffer());
    assets.push({
      url: new URL(url).pathname,
      kind,
      bytes: body.length,
      gzipBytes: gzipSync(body, { level: 6 }).length,
    });
  }
  return assets;
}

export async function run(): Promise<void> {
  const dashboard = await startDashboardStack({ inProcessWorkers: false });
  const browser = await launchBrowser();
  try {
    const assets = await firstPageAssets(dashboard.baseUrl);
    const sum = (kind: 'js' | 'css', field: 'bytes' | 'gzipBytes') =>
      assets.filter((a) => a.kind === kind).reduce((total, a) => total + a[field], 0);

    // One sign-in; each run reuses its cookies in a fresh context (cold HTTP cache).
    const signIn = await browser.newContext({ baseURL: dashboard.baseUrl });
    const page = await signIn.newPage();
    await page.goto(await dashboard.signInLink());
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    const storageState = await signIn.storageState();
    await signIn.close();

    const h1Ms: number[] = [];
    const fcpMs: number[] = [];
    for (let i = 0; i < warmup + runs; i++) {
      const context = await browser.newContext({
        baseURL: dashboard.baseUrl,
        storageState,
        viewport: { width: 1440, height: 900 },
      });
      const tab = await context.newPage();
      await tab.goto('/dashboard/', { waitUntil: 'commit' });
      // performance.now() counts from navigation start; checked every animation frame.
      const renderedAt = await waitInPage<number>(
        tab,
        `(() => {
          const h = document.querySelector('h1');
          if (!h || h.textContent.trim() !== 'Overview') return false;
          const box = h.getBoundingClientRect();
          return box.width > 0 && box.height > 0 ? performance.now() : false;
        })()`,
      );
      const fcp = await tab.evaluate<number>(
        `new Promise((resolve) => {
          const find = () => performance.getEntriesByName('first-contentful-paint')[0];
          const entry = find();
          if (entry) return resolve(entry.startTime);
          new PerformanceObserver(() => { const e = find(); if (e) resolve(e.startTime); })
            .observe({ type: 'paint', buffered: true });
        })`,
      );
      await context.close();
      if (i >= warmup) {
        h1Ms.push(renderedAt);
        fcpMs.push(fcp);
      }
    }

    const result = {
      machine: describeMachine(),
      chromium: browser.version(),
      firstPage: {
        assets,
        jsBytes: sum('js', 'bytes'),
        jsGzipBytes: sum('js', 'gzipBytes'),
        cssBytes: sum('css', 'bytes'),
        cssGzipBytes: sum('css', 'gzipBytes'),
      },
      firstRender: {
        runs,
        warmup,
        h1VisibleMs: {
          median: round1(percentile(h1Ms, 50)),
          min: round1(Math.min(...h1Ms)),
          max: round1(Math.max(...h1Ms)),
        },
        firstContentfulPaintMs: {
          median: round1(percentile(fcpMs, 50)),
          min: round1(Math.min(...fcpMs)),
          max: round1(Math.max(...fcpMs)),
        },
        samplesMs: { h1Visible: h1Ms.map(round1), firstContentfulPaint: fcpMs.map(round1) },
      },
    };
    printTable([
      ['measure', 'value'],
      [
        'JS served for the first page (gzip)',
        `${result.firstPage.jsGzipBytes} B (${result.firstPage.jsBytes} B raw)`,
      ],
      [
        'CSS served for the first page (gzip)',
        `${result.firstPage.cssGzipBytes} B (${result.firstPage.cssBytes} B raw)`,
      ],
      ['Overview h1 visible, median', `${result.firstRender.h1VisibleMs.median} ms`],
      ['First Contentful Paint, median', `${result.firstRender.firstContentfulPaintMs.median} ms`],
    ]);
    console.log(`wrote ${await writeResult('dashboard', result)}`);
  } finally {
    await browser.close();
    await dashboard.close();
  }
}
