/**
 * The dashboard's session security against the real stack (API, Temporal, workers, moto), with requests
 * made as a browser makes them (cookie, X-CSRF-Token, Origin): CSRF and Origin checks, account isolation
 * through the session, session fixation and reuse after sign-out. Unit-level cases live in test/api.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BatchStatus } from '../../src/core/jobs/job-status.js';
import {
  sessionCall,
  sessionCookie,
  signInHttp,
  startDashboardStack,
  type DashboardStack,
  type DashboardUser,
  type HttpSession,
} from '../support/dashboard-stack.js';
import { readBatch } from '../support/stack.js';

const photo = 'jpeg-exif-orientation-6.jpg';

describe('dashboard sessions against the real stack: CSRF, Origin, account isolation, fixation, sign-out', () => {
  let dash: DashboardStack;
  let session: HttpSession;
  /** Account B's batch (written output), rule, and its own dashboard user. */
  let other: { batchId: string; ruleId: string; user: DashboardUser };
  let ownBatchId: string;

  const rule = (bucket: string) => ({
    bucket,
    prefix: 'drop/',
    template: {
      transformUnits: [
        { type: 'Resize', width: 64 },
        { type: 'ImageFormat', format: 'webp' },
        { type: 'StorageSink', bucket, key: 'thumbs/{name}.webp' },
      ],
    },
  });
  const oneGraph = (key: string, out: string) => ({
    graphs: [
      {
        transformUnits: [
          { type: 'StorageSource', bucket: dash.stack.buckets.input, key },
          { type: 'Resize', width: 200 },
          { type: 'ImageFormat', format: 'jpeg' },
          { type: 'StorageSink', bucket: dash.stack.buckets.output, key: out },
        ],
      },
    ],
  });

  async function finished(api: DashboardStack['stack']['api'], batchId: string): Promise<BatchStatus> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const status = await readBatch((pathname) => api(pathname), batchId);
      if (status.state !== 'running') return status;
      if (Date.now() > deadline) throw new Error(`batch ${batchId} still running`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  before(async () => {
    dash = await startDashboardStack();
    const key = await dash.stack.uploadFixture(photo);
    const b = await dash.stack.addAccount('other');
    const bBatch = await b.api('/v1/batches', {
      method: 'POST',
      body: JSON.stringify(oneGraph(key, 'b/out.jpg')),
    });
    assert.equal(bBatch.status, 201, JSON.stringify(bBatch.body));
    const aBatch = await dash.stack.api('/v1/batches', {
      method: 'POST',
      body: JSON.stringify(oneGraph(key, 'a/out.jpg')),
    });
    assert.equal(aBatch.status, 201, JSON.stringify(aBatch.body));
    ownBatchId = (aBatch.body as { batchId: string }).batchId;
    const bRule = await b.api('/v1/rules', {
      method: 'POST',
      body: JSON.stringify(rule(dash.stack.buckets.input)),
    });
    assert.equal(bRule.status, 201, JSON.stringify(bRule.body));
    other = {
      batchId: (bBatch.body as { batchId: string }).batchId,
      ruleId: (bRule.body as { ruleId: string }).ruleId,
      user: await dash.addUser(b.accountId, 'other'),
    };
    assert.equal(
      (await finished((pathname, init) => b.api(pathname, init), other.batchId)).state,
      'succeeded',
    );
    assert.equal(
      (await finished((pathname, init) => dash.stack.api(pathname, init), ownBatchId)).state,
      'succeeded',
    );
    session = await signInHttp(dash.baseUrl, dash.user);
  });
  after(() => dash?.close());

  test('when a state-changing request carries the session cookie but no CSRF token, then it is refused with 403 csrf_failed and nothing changes', async () => {
    const before = await sessionCall(dash.baseUrl, session, '/v1/keys');
    assert.equal(before.status, 200, JSON.stringify(before.body));
    const refused = await sessionCall(dash.baseUrl, session, '/v1/keys', {
      method: 'POST',
      body: { label: 'csrf' },
      csrf: null,
    });
    assert.equal(refused.status, 403);
    assert.equal((refused.body as { error: { code: string } }).error.code, 'csrf_failed');
    const wrong = await sessionCall(dash.baseUrl, session, '/v1/account/throttle', {
      method: 'PUT',
      body: { transformsPerHour: 7 },
      csrf: 'not-the-token',
    });
    assert.equal(wrong.status, 403);
    assert.equal((wrong.body as { error: { code: string } }).error.code, 'csrf_failed');
    const after = await sessionCall(dash.baseUrl, session, '/v1/keys');
    assert.deepEqual(after.body, before.body);
    const throttle = await sessionCall(dash.baseUrl, session, '/v1/account/throttle');
    assert.notEqual((throttle.body as { transformsPerHour: number }).transformsPerHour, 7);
  });

  test('when a state-changing request comes with a foreign Origin or none, then it is refused with 403 even with the right token', async () => {
    for (const origin of ['https://evil.example', 'null', null]) {
      const refused = await sessionCall(dash.baseUrl, session, '/v1/rules', {
        method: 'POST',
        body: rule(dash.stack.buckets.input),
        origin,
      });
      assert.equal(refused.status, 403, `origin ${origin}`);
      assert.equal((refused.body as { error: { code: string } }).error.code, 'csrf_failed');
    }
    const signOut = await sessionCall(dash.baseUrl, session, '/auth/sign-out', {
      method: 'POST',
      origin: 'https://evil.example',
    });
    assert.equal(signOut.status, 403);
    // The session survived the refused sign-out; the same request from the right origin is accepted.
    const accepted = await sessionCall(dash.baseUrl, session, '/v1/rules', {
      method: 'POST',
      body: rule(dash.stack.buckets.input),
    });
    assert.equal(accepted.status, 201, JSON.stringify(accepted.body));
  });

  test('when a bearer client sends no CSRF token and no Origin, then it is unaffected', async () => {
    const created = await dash.stack.api('/v1/rules', {
      method: 'POST',
      body: JSON.stringify(rule(dash.stack.buckets.input)),
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  });

  test("when the session asks for another account's batch, rule or thumbnail, then each is 404, as unknown ids are; its own are 200", async () => {
    const theirs = [
      `/v1/batches/${other.batchId}`,
      `/v1/batches/${other.batchId}/graphs`,
      `/v1/rules/${other.ruleId}`,
      `/v1/batches/${other.batchId}/graphs/0/outputs/0/thumbnail`,
    ];
    for (const pathname of theirs) {
      const res = await sessionCall(dash.baseUrl, session, pathname);
      assert.equal(res.status, 404, `${pathname}: ${JSON.stringify(res.body)}`);
      assert.equal((res.body as { error: { code: string } }).error.code, 'not_found', pathname);
    }
    const changed = await sessionCall(dash.baseUrl, session, `/v1/rules/${other.ruleId}`, {
      method: 'DELETE',
    });
    assert.equal(changed.status, 404);
    const retried = await sessionCall(dash.baseUrl, session, `/v1/batches/${other.batchId}/retry-failed`, {
      method: 'POST',
    });
    assert.equal(retried.status, 404);
    const list = await sessionCall(dash.baseUrl, session, '/v1/batches');
    assert.equal(list.status, 200);
    const ids = (list.body as { batches: { batchId: string }[] }).batches.map((b) => b.batchId);
    assert.ok(ids.includes(ownBatchId) && !ids.includes(other.batchId), JSON.stringify(ids));

    const own = await fetch(`${dash.baseUrl}/v1/batches/${ownBatchId}/graphs/0/outputs/0/thumbnail?size=64`, {
      headers: { cookie: session.cookie },
    });
    assert.equal(own.status, 200);
    assert.equal(own.headers.get('content-type'), 'image/webp');
    // B's own user sees B's batch and rule through B's session.
    const bSession = await signInHttp(dash.baseUrl, other.user);
    assert.equal((await sessionCall(dash.baseUrl, bSession, `/v1/batches/${other.batchId}`)).status, 200);
    assert.equal((await sessionCall(dash.baseUrl, bSession, `/v1/rules/${other.ruleId}`)).status, 200);
    assert.equal((await sessionCall(dash.baseUrl, bSession, `/v1/batches/${ownBatchId}`)).status, 404);
  });

  test('when a browser arrives with a cookie value an attacker chose and signs in, then it gets a new session id and the chosen value is no session', async () => {
    const planted = 'pixelshift_session=attacker-chosen-value-0123456789abcdef';
    const before = await fetch(`${dash.baseUrl}/auth/session`, { headers: { cookie: planted } });
    assert.equal(before.status, 401);
    const signIn = await fetch(`${dash.baseUrl}/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: dash.baseUrl, cookie: planted },
      body: JSON.stringify({ email: dash.user.email, password: dash.user.password }),
    });
    assert.equal(signIn.status, 200);
    const issued = sessionCookie(signIn.headers);
    assert.notEqual(issued, planted);
    assert.equal((await fetch(`${dash.baseUrl}/auth/session`, { headers: { cookie: planted } })).status, 401);
    assert.equal((await fetch(`${dash.baseUrl}/v1/account`, { headers: { cookie: planted } })).status, 401);
    assert.equal((await fetch(`${dash.baseUrl}/auth/session`, { headers: { cookie: issued } })).status, 200);

    // A session an attacker holds is not carried over either: signing in again issues yet another id,
    // and the earlier one stays its own (the attacker's copy does not become the victim's new session).
    const again = await signInHttp(dash.baseUrl, dash.user, { cookie: issued });
    assert.notEqual(again.cookie, issued);
  });

  test('when the user signs out, then the old cookie and CSRF token are refused everywhere with 401', async () => {
    const mine = await signInHttp(dash.baseUrl, dash.user);
    assert.equal((await sessionCall(dash.baseUrl, mine, '/v1/account')).status, 200);
    const out = await sessionCall(dash.baseUrl, mine, '/auth/sign-out', { method: 'POST' });
    assert.equal(out.status, 204);
    const cleared = out.headers.getSetCookie().find((line) => line.startsWith('pixelshift_session='));
    assert.ok(cleared, 'the sign-out clears the cookie');
    for (const [pathname, method] of [
      ['/auth/session', 'GET'],
      ['/v1/account', 'GET'],
      ['/v1/batches', 'GET'],
      ['/v1/keys', 'POST'],
    ] as const) {
      const res = await sessionCall(dash.baseUrl, mine, pathname, {
        method,
        ...(method === 'POST' ? { body: { label: 'after sign-out' } } : {}),
      });
      assert.equal(res.status, 401, `${method} ${pathname}: ${JSON.stringify(res.body)}`);
    }
    // Other sessions of the same user are not ended by it.
    assert.equal((await sessionCall(dash.baseUrl, session, '/v1/account')).status, 200);
  });
});
