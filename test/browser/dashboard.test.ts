/**
 * The dashboard in Debian's Chromium against the real stack (API serving /dashboard/, Temporal dev server,
 * in-process workers, moto): every scenario of issue 13, and on every page axe (no serious or critical
 * violation), no sideways scrolling at 360 and 1920 px, and screenshots at desktop and mobile width
 * (test-output/screenshots/). One stack and one browser for the file; a fresh context per scenario.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Browser, Page } from 'playwright-core';
import { fixturePath } from '../support/fixtures.js';
import {
  checkPage,
  launchBrowser,
  newScenario,
  shootFailure,
  signInWithLink,
  signInWithPassword,
  waitInPage,
} from '../support/browser.js';
import { sessionCall, startDashboardStack, type DashboardStack } from '../support/dashboard-stack.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const eventsToken = 'browser-events-token-0123456789abcdef0123456789';
const photos = ['jpeg-exif-orientation-6.jpg', 'png-rgba-alpha.png'];
const broken = 'bad-truncated.jpg';

describe('the dashboard in Chromium against the real stack', () => {
  let dash: DashboardStack;
  let browser: Browser;
  let receiver: WebhookReceiver;

  before(async () => {
    [dash, browser, receiver] = await Promise.all([
      startDashboardStack({ eventsToken }),
      launchBrowser(),
      startWebhookReceiver(),
    ]);
    for (const file of [...photos, broken]) await dash.stack.uploadFixture(file);
  });
  after(async () => {
    await browser?.close();
    await receiver?.close();
    await dash?.close();
  });

  let failures = 0;
  /** A fresh context (no cookies) for one scenario, closed afterwards; a failing one leaves a screenshot. */
  async function scenario(run: (page: Page) => Promise<void>): Promise<void> {
    const { context, page } = await newScenario(browser, dash.baseUrl);
    try {
      await run(page);
    } catch (error) {
      await shootFailure(page, `failure-${++failures}`);
      throw error;
    } finally {
      await context.close();
    }
  }

  async function signedIn(run: (page: Page) => Promise<void>): Promise<void> {
    await scenario(async (page) => {
      await signInWithLink(page, await dash.signInLink());
      await run(page);
    });
  }

  /** Follows the sidebar link `name` and waits for the page's h1. */
  async function open(page: Page, name: string): Promise<void> {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
    await page.getByRole('heading', { level: 1, name }).waitFor();
  }

  /** Marks the document; `assertNotReloaded` fails if it was replaced since (a reload or a full navigation). */
  async function markDocument(page: Page): Promise<void> {
    await page.evaluate('window.__sameDocument = true');
  }
  async function assertNotReloaded(page: Page): Promise<void> {
    assert.equal(await page.evaluate('window.__sameDocument === true'), true, 'the page was reloaded');
  }

  /** The batch page's state badge (next to the batch id under the heading). */
  function batchState(page: Page) {
    return page.locator('main p:has(> code, > span) > .badge').first();
  }

  function graph(key: string, outKey: string) {
    return {
      transformUnits: [
        { type: 'StorageSource', bucket: dash.stack.buckets.input, key },
        { type: 'AutoOrient' },
        { type: 'Resize', width: 640, fit: 'inside' },
        { type: 'ImageFormat', format: 'webp', quality: 80 },
        { type: 'StorageSink', bucket: dash.stack.buckets.output, key: outKey },
      ],
    };
  }

  async function submit(files: string[], prefix: string): Promise<string> {
    const res = await dash.stack.api('/v1/batches', {
      method: 'POST',
      body: JSON.stringify({ graphs: files.map((file) => graph(`in/${file}`, `${prefix}/${file}.webp`)) }),
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return (res.body as { batchId: string }).batchId;
  }

  test('when the one-time link is opened, then the Overview shows; the same link a second time lands on sign-in with an explanation', async () => {
    const link = await dash.signInLink();
    await scenario(async (page) => {
      await signInWithLink(page, link);
      await page.getByRole('navigation', { name: 'Main' }).waitFor();
      await checkPage(page, 'overview');
    });
    await scenario(async (page) => {
      await page.goto(link);
      await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/dashboard/sign-in');
      await page.getByRole('alert').filter({ hasText: 'no longer valid' }).waitFor();
      await checkPage(page, 'sign-in-link-invalid');
    });
  });

  test('when email and password are right, then the user is in; a wrong password says invalid_credentials; too many say too_many_attempts even for the right one', async () => {
    await scenario(async (page) => {
      await page.goto('/dashboard/');
      // Not signed in: the app sends the visitor to the sign-in page.
      await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
      await checkPage(page, 'sign-in');
      await signInWithPassword(page, dash.user.email, dash.user.password);
      assert.equal(new URL(page.url()).pathname, '/dashboard/');
    });
    // A user of its own, so the lock-out leaves the other scenarios alone.
    const victim = await dash.addUser(dash.stack.account.accountId, 'locked');
    const limit = dash.stack.config.dashboard.signInFailuresPerEmail;
    await scenario(async (page) => {
      await page.goto('/dashboard/sign-in');
      for (let attempt = 1; attempt <= limit; attempt++) {
        await signInWithPassword(page, victim.email, 'wrong password', { expectFailure: true });
        await page.getByRole('alert').filter({ hasText: 'invalid_credentials' }).waitFor();
      }
      await signInWithPassword(page, victim.email, victim.password, { expectFailure: true });
      await page.getByRole('alert').filter({ hasText: 'too_many_attempts' }).waitFor();
      await checkPage(page, 'sign-in-too-many-attempts');
      assert.equal(new URL(page.url()).pathname, '/dashboard/sign-in');
    });
  });

  test('when a key is generated, then its secret shows once (not after a reload) and exchanges for a token', async () => {
    await signedIn(async (page) => {
      await open(page, 'API keys');
      await checkPage(page, 'keys-empty-or-list');
      await page.getByLabel('Key label').fill('browser test');
      await page.getByRole('button', { name: 'Generate new API key' }).click();
      const secretBox = page.getByRole('region', { name: 'Client secret' });
      await secretBox.waitFor();
      const secret = await secretBox.getByLabel('Client secret').inputValue();
      const keyId = /pk_[A-Za-z0-9_-]+/.exec(await secretBox.innerText())?.[0];
      assert.ok(secret.length >= 20 && keyId, `secret ${secret.length} chars, key id ${keyId}`);
      await secretBox.getByRole('button', { name: /^Copy/ }).waitFor();
      await checkPage(page, 'keys-secret-shown');

      await page.reload();
      await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
      await page.getByRole('cell', { name: keyId, exact: true }).waitFor();
      assert.equal(await page.getByRole('region', { name: 'Client secret' }).count(), 0);
      assert.equal((await page.content()).includes(secret), false, 'the secret is in the page after reload');
      await checkPage(page, 'keys');

      const token = await fetch(`${dash.baseUrl}/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${keyId}:${secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      });
      assert.equal(token.status, 200);
      const { access_token } = (await token.json()) as { access_token: string };
      const account = await dash.stack.api('/v1/account', { token: access_token });
      assert.equal(account.status, 200);
    });
  });

  test('when the throttle is changed on its page, then the API reads the new value; an out-of-range value cannot be saved', async () => {
    await signedIn(async (page) => {
      await open(page, 'Throttle');
      const input = page.getByLabel('Transforms per hour');
      await input.fill('0');
      assert.equal(await page.getByRole('button', { name: 'Save throttle' }).isDisabled(), true);
      await input.fill('250');
      await page.getByRole('button', { name: 'Save throttle' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
      const throttle = await dash.stack.api('/v1/account/throttle');
      assert.equal((throttle.body as { transformsPerHour: number }).transformsPerHour, 250);
      await checkPage(page, 'throttle');
      // Restore the default so later batches are not held back.
      await input.fill('1000');
      await page.getByRole('button', { name: 'Save throttle' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    });
  });

  test('when a batch is submitted through the API, then its page reaches succeeded without a reload, with a thumbnail of each output', async () => {
    await signedIn(async (page) => {
      // No worker while the page opens: the batch is certainly still running when the page first shows it.
      await dash.stack.workers!.shutdown();
      let batchId: string;
      try {
        batchId = await submit(photos, 'live');
        await page.goto(`/dashboard/batches/${batchId}`);
        await batchState(page).filter({ hasText: 'running' }).waitFor();
        await markDocument(page);
      } finally {
        await dash.stack.startWorkers();
      }
      await batchState(page).filter({ hasText: 'succeeded' }).waitFor({ timeout: 120_000 });
      await assertNotReloaded(page);
      const thumbnails = page.locator('img[src*="/thumbnail"]');
      await thumbnails.nth(photos.length - 1).waitFor();
      await waitInPage(
        page,
        `[...document.querySelectorAll('img[src*="/thumbnail"]')].every((img) => img.complete && img.naturalWidth > 0)`,
      );
      assert.equal(await thumbnails.count(), photos.length);
      await checkPage(page, 'batch');

      await open(page, 'Batches');
      await page.getByRole('link', { name: batchId }).waitFor();
      await checkPage(page, 'batches');
      await page.getByLabel('State').selectOption('failed');
      await page.getByText('No batch matches').waitFor();
      await page.getByLabel('State').selectOption('');
      await page.getByLabel('Batch id').fill(batchId.slice(0, 12));
      await page.getByRole('button', { name: 'Search' }).click();
      await page.getByRole('link', { name: batchId }).waitFor();
    });
  });

  test('when a batch has a broken file, then "Retry failed graphs" makes a new batch of the failed graph linked to the original', async () => {
    const batchId = await submit([photos[0]!, broken], 'partly');
    const finished = await dash.stack.waitForBatch(batchId);
    assert.equal(finished.state, 'partial');
    await signedIn(async (page) => {
      await page.goto(`/dashboard/batches/${batchId}`);
      await page.getByText('corrupt_input').first().waitFor();
      await checkPage(page, 'batch-partial');
      await page.getByRole('button', { name: 'Retry failed graphs' }).click();
      // Confirmed in a dialog first.
      await page.getByRole('dialog').getByRole('button', { name: 'Start the retry' }).click();
      await page.waitForURL(
        (url) => /^\/dashboard\/batches\/[^/]+$/.test(url.pathname) && !url.pathname.endsWith(batchId),
      );
      const retryId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
      await page.getByRole('link', { name: batchId }).waitFor();
      const retry = await dash.stack.api(`/v1/batches/${retryId}`);
      assert.equal(retry.status, 200);
      assert.equal((retry.body as { retryOf?: string }).retryOf, batchId);
      assert.equal((retry.body as { counts: { total?: number } }).counts !== undefined, true);
      const graphs = await dash.stack.api(`/v1/batches/${retryId}/graphs`);
      assert.equal((graphs.body as { graphs: unknown[] }).graphs.length, 1);
    });
  });

  test('when a rule template has an error, then it is shown at its JSON pointer; fixed and saved, a dropped file starts a run shown on the Runs page', async () => {
    await signedIn(async (page) => {
      await open(page, 'Rules');
      await checkPage(page, 'rules-empty');
      await page.getByRole('button', { name: 'New rule' }).click();
      await page.getByLabel('Bucket').fill(dash.stack.buckets.input);
      await page.getByLabel('Rule name').fill('thumbnails of drops');
      await page.getByLabel('Key prefix').fill('drop/');
      const template = page.getByLabel('Graph template (JSON)');
      const broken = {
        transformUnits: [
          { type: 'Resize', width: -5 },
          { type: 'ImageFormat', format: 'webp' },
          { type: 'StorageSink', bucket: '{bucket}', key: 'thumbs/{name}.webp' },
        ],
      };
      await template.fill(JSON.stringify(broken, null, 2));
      const issues = page.getByRole('list', { name: 'Template issues' });
      await issues.getByText('/transformUnits/0/width').waitFor();
      await checkPage(page, 'rule-editor-error');
      broken.transformUnits[0] = { type: 'Resize', width: 96 };
      await template.fill(JSON.stringify(broken, null, 2));
      await page.getByText('The template is valid.').waitFor();
      assert.equal(await issues.count(), 0);
      await page.getByRole('button', { name: 'Save rule' }).click();
      await page.getByRole('cell', { name: 'thumbnails of drops', exact: true }).waitFor();
      await checkPage(page, 'rules');

      // Drop a file and announce it as S3 would.
      const body = readFileSync(fixturePath(photos[0]!));
      const key = 'drop/photo.jpg';
      const put = await dash.stack.s3.send(
        new PutObjectCommand({
          Bucket: dash.stack.buckets.input,
          Key: key,
          Body: body,
          ContentType: 'image/jpeg',
        }),
      );
      const event = await dash.stack.api('/v1/events/s3', {
        method: 'POST',
        token: eventsToken,
        body: JSON.stringify({
          Records: [
            {
              eventVersion: '2.1',
              eventSource: 'aws:s3',
              awsRegion: 'us-east-1',
              eventTime: new Date().toISOString(),
              eventName: 'ObjectCreated:Put',
              s3: {
                s3SchemaVersion: '1.0',
                bucket: { name: dash.stack.buckets.input, arn: `arn:aws:s3:::${dash.stack.buckets.input}` },
                object: { key, size: body.length, eTag: put.ETag!.replace(/"/g, ''), sequencer: '0001' },
              },
            },
          ],
        }),
      });
      assert.equal(event.status, 200, JSON.stringify(event.body));
      assert.equal((event.body as { started: number }).started, 1);

      await open(page, 'Runs');
      await markDocument(page);
      const run = page.getByRole('listitem').filter({ hasText: key }).first();
      await run.waitFor();
      await run.getByRole('button', { name: 'Show outputs' }).click();
      // The outputs show once the run has written them, followed live.
      await run.getByText('thumbs/photo.webp').first().waitFor({ timeout: 120_000 });
      await assertNotReloaded(page);
      await checkPage(page, 'runs');
    });
  });

  test('when a loopback receiver is subscribed, then a test event reaches it, shows in the delivery log, can be redelivered, and follows the subscription to a new URL', async () => {
    await signedIn(async (page) => {
      await open(page, 'Webhooks');
      await checkPage(page, 'webhooks-empty');
      await page.getByLabel('Endpoint URL').fill(receiver.url('/dashboard-hook'));
      await page.getByRole('button', { name: 'Subscribe' }).click();
      await page.getByRole('region', { name: 'Signing secret' }).waitFor();
      await page.getByRole('button', { name: 'Send test event' }).click();
      const [first] = await receiver.waitFor('/dashboard-hook', (requests) => requests.length >= 1, 60_000);
      assert.equal(first!.json.type, 'webhook.test');
      // Sending opens the delivery log; open it if it is not.
      const toggle = page.getByRole('button', { name: /delivery log/i }).first();
      if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
      const log = page.getByRole('table', { name: 'Delivery log' });
      const row = log.getByRole('row').filter({ hasText: 'webhook.test' }).first();
      // The log refreshes itself; the attempt's status shows once the delivery is recorded.
      await row.getByRole('cell', { name: '200', exact: true }).waitFor({ timeout: 60_000 });
      await checkPage(page, 'webhooks');
      await row.getByRole('button', { name: /^Redeliver webhook\.test delivery/ }).click();
      const requests = await receiver.waitFor('/dashboard-hook', (r) => r.length >= 2, 60_000);
      assert.equal(requests[1]!.json.type, 'webhook.test');

      // Editing moves the subscription to a new URL with fewer events; the next test event goes there.
      await page.getByRole('button', { name: /^Edit subscription / }).click();
      const form = page.getByRole('form', { name: /^Edit subscription / });
      await form.getByLabel('Endpoint URL').fill(receiver.url('/dashboard-hook-moved'));
      await form.getByLabel('graph.succeeded').uncheck();
      await form.getByRole('button', { name: 'Save changes' }).click();
      await form.waitFor({ state: 'detached' });
      await page.getByText(receiver.url('/dashboard-hook-moved')).first().waitFor();
      await page.getByText('graph.failed, batch.completed').first().waitFor();
      await page.getByRole('button', { name: 'Send test event' }).click();
      const moved = await receiver.waitFor('/dashboard-hook-moved', (r) => r.length >= 1, 60_000);
      assert.equal(moved[0]!.json.type, 'webhook.test');
    });
  });

  test('when the remaining pages are opened from the sidebar, then each has its heading and passes the page checks', async () => {
    await signedIn(async (page) => {
      await open(page, 'Inbound hooks');
      await checkPage(page, 'hooks');
      await open(page, 'Developer');
      await page.getByText(dash.stack.account.accountId).first().waitFor();
      await checkPage(page, 'developer');
      await open(page, 'Overview');
      await checkPage(page, 'overview-with-activity');
      // Keyboard: on a freshly loaded page, Tab reaches the skip link first.
      await page.reload();
      await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
      await page.keyboard.press('Tab');
      const focused = await page.evaluate<string>('document.activeElement?.textContent ?? ""');
      assert.equal(focused.trim(), 'Skip to content');
    });
  });

  test('when the user signs out, then the app shows sign-in and the old session cookie is refused with 401', async () => {
    await signedIn(async (page) => {
      const cookies = await page.context().cookies();
      const session = cookies.find((c) => c.name === 'pixelshift_session');
      assert.ok(session, 'a session cookie');
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Lax');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
      const old = { cookie: `pixelshift_session=${session.value}`, csrfToken: '' };
      assert.equal((await sessionCall(dash.baseUrl, old, '/v1/account')).status, 401);
      assert.equal((await sessionCall(dash.baseUrl, old, '/auth/session')).status, 401);
      await page.goto('/dashboard/keys');
      await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    });
  });
});
