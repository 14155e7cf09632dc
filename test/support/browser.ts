/**
 * The browser harness of the dashboard tests (docs/dashboard.md, "Testing"): Debian's Chromium driven by
 * playwright-core, one browser per test file and a fresh context (cookies, storage) per scenario;
 * sign-in helpers, screenshots at two widths, axe checks and a no-horizontal-overflow check.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { chromiumArgs, ensureChromium } from '../../src/tools/chromium.js';

/** Where `shoot` writes its PNGs (git-ignored): `<name>-desktop.png` and `<name>-mobile.png`. */
export const screenshotDir = path.resolve('test-output', 'screenshots');

export const desktop = { width: 1440, height: 900 } as const;
export const mobile = { width: 390, height: 844 } as const;

/**
 * Launches headless Chromium (installed first when missing). playwright gives every launch a fresh
 * temporary profile (user-data dir) of its own and removes it on close.
 */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: ensureChromium(),
    headless: true,
    args: [...chromiumArgs],
  });
}

/** A fresh context (no cookies) at desktop size, with the page it opens. */
export async function newScenario(
  browser: Browser,
  baseUrl: string,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport: desktop });
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  return { context, page };
}

/** Opens a one-time sign-in link (`/auth/link/<token>`) and waits for the Overview page it leads to. */
export async function signInWithLink(page: Page, linkPath: string): Promise<void> {
  await page.goto(linkPath);
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/dashboard/');
}

/** Fills the sign-in form; waits for the Overview page unless `expectFailure` is set. */
export async function signInWithPassword(
  page: Page,
  email: string,
  password: string,
  options: { expectFailure?: boolean } = {},
): Promise<void> {
  if (new URL(page.url(), 'http://x').pathname !== '/dashboard/sign-in')
    await page.goto('/dashboard/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (!options.expectFailure) await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
}

/** Screenshots of the whole page at desktop (1440×900) and mobile (390×844) width; the viewport is restored. */
export async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  const before = page.viewportSize() ?? desktop;
  for (const [label, size] of [
    ['desktop', desktop],
    ['mobile', mobile],
  ] as const) {
    await page.setViewportSize(size);
    await settle(page);
    await page.screenshot({ path: path.join(screenshotDir, `${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize(before);
}

/** The page as it is when a scenario failed (`<name>.png`, desktop size), for whoever reads the failure. */
export async function shootFailure(page: Page, name: string): Promise<void> {
  try {
    mkdirSync(screenshotDir, { recursive: true });
    await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true, timeout: 5_000 });
    console.error(`screenshot of the failure: ${path.join(screenshotDir, `${name}.png`)} (${page.url()})`);
  } catch {
    // the page may be gone: the failure itself is what matters
  }
}

/** Fails on any serious or critical axe violation of the page as it is now, naming rule, help and nodes. */
export async function checkA11y(page: Page, label = new URL(page.url()).pathname): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map(
      (v) =>
        `${v.impact} ${v.id}: ${v.help} at ${v.nodes
          .slice(0, 3)
          .map((n) => n.target.join(' '))
          .join(', ')}`,
    ),
    [],
    `axe on ${label}`,
  );
}

/** Fails when the page scrolls sideways at 360 px or 1920 px wide; the viewport is restored. */
export async function checkNoHorizontalOverflow(
  page: Page,
  label = new URL(page.url()).pathname,
): Promise<void> {
  const before = page.viewportSize() ?? desktop;
  for (const width of [360, 1920]) {
    await page.setViewportSize({ width, height: 900 });
    await settle(page);
    const { scrollWidth, innerWidth, wide } = await page.evaluate<{
      scrollWidth: number;
      innerWidth: number;
      wide: string[];
    }>(`(() => {
      const innerWidth = window.innerWidth;
      // The elements that reach past the right edge, innermost first, to say what overflows.
      const wide = [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > innerWidth + 0.5 && !el.querySelector('*:not(svg *)') )
        .slice(0, 5)
        .map((el) => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().replace(/\\s+/g, '.') : '') + ' (right ' + Math.round(el.getBoundingClientRect().right) + ')');
      return { scrollWidth: document.scrollingElement.scrollWidth, innerWidth, wide };
    })()`);
    assert.ok(
      scrollWidth <= innerWidth,
      `${label} at ${width} px: scrollWidth ${scrollWidth} > ${innerWidth}; past the edge: ${wide.join(', ')}`,
    );
  }
  await page.setViewportSize(before);
}

/** The three page checks every dashboard page gets: axe, no sideways scrolling, screenshots. */
export async function checkPage(page: Page, name: string): Promise<void> {
  await checkA11y(page, name);
  await checkNoHorizontalOverflow(page, name);
  await shoot(page, name);
}

/** Lets layout follow a viewport change (two animation frames) before measuring or shooting. */
async function settle(page: Page): Promise<void> {
  await page.evaluate(
    'new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))',
  );
}

/**
 * Waits until `expression` is truthy in the page, checked every animation frame, and returns its value.
 * Playwright's waitForFunction compiles its predicate inside the page once it has to poll, which the
 * dashboard's CSP (no 'unsafe-eval') refuses; one promise evaluated through the debugger protocol is not
 * subject to it.
 */
export async function waitInPage<T>(page: Page, expression: string, timeoutMs = 30_000): Promise<T> {
  return page.evaluate<T>(
    `new Promise((resolve, reject) => {
      const deadline = performance.now() + ${timeoutMs};
      const poll = () => {
        const value = (${expression});
        if (value) return resolve(value);
        if (performance.now() > deadline) return reject(new Error(${JSON.stringify(`never true: ${expression}`)}));
        requestAnimationFrame(poll);
      };
      poll();
    })`,
  );
}
