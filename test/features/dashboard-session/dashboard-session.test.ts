import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { advanceGraphRun, finishBatch } from '../../../src/db/graph-runs.js';
import { graphWorkflowId } from '../../../src/core/jobs/workflow-ids.js';
import { createDashboardUser, createSignInLink, ensureAccount } from '../../../src/db/index.js';
import { createTestAccount, createTestApi, validGraph, type TestApi } from '../../support/api-harness.js';

const ORIGIN = 'https://dash.test';
const MINUTE = 60_000;
let api: TestApi;
/** The app's clock: tests move it forward, never back. */
let clock = new Date('2030-01-01T00:00:00Z');

before(async () => {
  api = await createTestApi({
    env: {
      PUBLIC_URL: ORIGIN,
      // X-Forwarded-For from supertest (loopback) is believed: each test signs in from its own address.
      PIXELSHIFT_TRUST_PROXY: 'loopback',
      PIXELSHIFT_SESSION_IDLE: '1h',
      PIXELSHIFT_SESSION_MAX_AGE: '1d',
    },
    now: () => clock,
  });
});
after(() => api.close());

const PASSWORD = 'correct horse battery staple';

interface TestUser {
  accountId: string;
  email: string;
  userId: string;
}

async function newUser(accountId?: string): Promise<TestUser> {
  const account = accountId ?? `dash-${randomBytes(4).toString('hex')}`;
  await ensureAccount(api.db, { id: account, name: account });
  const email = `user-${randomBytes(4).toString('hex')}@example.com`;
  const user = await createDashboardUser(api.db, { accountId: account, email, password: PASSWORD });
  return { accountId: account, email, userId: user.id };
}

/** A client address of its own, so the per-address limit of one test never touches another. */
function newAddress(): string {
  return `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
}

function signIn(email: string, password: string, address: string, cookie?: string) {
  const req = request(api.app).post('/auth/sign-in').set('X-Forwarded-For', address).set('Origin', ORIGIN);
  if (cookie) req.set('Cookie', cookie);
  return req.send({ email, password });
}

/** `pixelshift_session=<token>` from the answer's Set-Cookie. */
function sessionCookie(res: request.Response): string {
  const header = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const cookie = header.find((line) => line.startsWith('pixelshift_session='));
  assert.ok(cookie, 'sets the session cookie');
  return cookie.split(';')[0]!;
}

interface Session {
  cookie: string;
  csrfToken: string;
}

async function signedIn(user: TestUser): Promise<Session> {
  const res = await signIn(user.email, PASSWORD, newAddress()).expect(200);
  return { cookie: sessionCookie(res), csrfToken: res.body.csrfToken as string };
}

/** A state-changing request as the dashboard sends it: cookie, CSRF token, same-origin Origin. */
function asDashboard(req: request.Test, session: Session): request.Test {
  return req.set('Cookie', session.cookie).set('X-CSRF-Token', session.csrfToken).set('Origin', ORIGIN);
}

describe('POST /auth/sign-in', () => {
  test('when the email and password are right, then a session starts: user, CSRF token, expiry and an HttpOnly SameSite=Lax cookie', async () => {
    const user = await newUser();
    const res = await signIn(user.email.toUpperCase(), PASSWORD, newAddress()).expect(200);
    assert.deepEqual(res.body, {
      user: { id: user.userId, email: user.email, accountId: user.accountId },
      csrfToken: res.body.csrfToken,
      expiresAt: new Date(clock.getTime() + 60 * MINUTE).toISOString(),
    });
    assert.match(res.body.csrfToken, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(res.headers['cache-control'], 'no-store');
    const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    assert.equal(setCookie.length, 1);
    // PUBLIC_URL is https, so the cookie is Secure.
    assert.match(
      setCookie[0]!,
      /^pixelshift_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Secure$/,
    );

    const session = await request(api.app).get('/auth/session').set('Cookie', sessionCookie(res)).expect(200);
    assert.deepEqual(session.body, res.body);
    const account = await request(api.app).get('/v1/account').set('Cookie', sessionCookie(res)).expect(200);
    assert.equal(account.body.accountId, user.accountId);
  });

  test('when the server is reached over plain http without an https PUBLIC_URL, then the cookie is not Secure; over https (X-Forwarded-Proto from a trusted proxy) it is', async () => {
    const plain = await createTestApi({ env: { PIXELSHIFT_TRUST_PROXY: 'loopback' } });
    try {
      await ensureAccount(plain.db, { id: 'plain', name: 'plain' });
      await createDashboardUser(plain.db, {
        accountId: 'plain',
        email: 'ada@example.com',
        password: PASSWORD,
      });
      const http = await request(plain.app)
        .post('/auth/sign-in')
        .send({ email: 'ada@example.com', password: PASSWORD })
        .expect(200);
      assert.match(
        String(http.headers['set-cookie']),
        /^pixelshift_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/,
      );
      const https = await request(plain.app)
        .post('/auth/sign-in')
        .set('X-Forwarded-Proto', 'https')
        .send({ email: 'ada@example.com', password: PASSWORD })
        .expect(200);
      assert.match(String(https.headers['set-cookie']), /; Secure$/);
    } finally {
      await plain.close();
    }
  });

  test('when the password is wrong or the email unknown, then both get the same 401 invalid_credentials and no cookie', async () => {
    const user = await newUser();
    const wrong = await signIn(user.email, 'not the password', newAddress()).expect(401);
    const unknown = await signIn('nobody@example.com', PASSWORD, newAddress()).expect(401);
    assert.deepEqual(wrong.body, {
      error: { code: 'invalid_credentials', message: 'The email or the password is wrong' },
    });
    assert.deepEqual(unknown.body, wrong.body);
    assert.equal(wrong.headers['set-cookie'], undefined);
    assert.equal(unknown.headers['set-cookie'], undefined);
  });

  test('when an email has 5 failures in 15 minutes, then it is refused with 429 and Retry-After from any address (even with the right password), other emails are not, and it works again after the window', async () => {
    const user = await newUser();
    const other = await newUser();
    for (let i = 0; i < 5; i += 1) await signIn(user.email, `wrong ${i}`, newAddress()).expect(401);
    const refused = await signIn(user.email, PASSWORD, newAddress()).expect(429);
    assert.equal(refused.body.error.code, 'too_many_attempts');
    assert.equal(refused.headers['retry-after'], String(15 * 60));
    assert.equal(refused.headers['set-cookie'], undefined);
    await signIn(other.email, PASSWORD, newAddress()).expect(200);

    clock = new Date(clock.getTime() + 10 * MINUTE);
    const later = await signIn(user.email, PASSWORD, newAddress()).expect(429);
    assert.equal(later.headers['retry-after'], String(5 * 60));
    clock = new Date(clock.getTime() + 5 * MINUTE);
    await signIn(user.email, PASSWORD, newAddress()).expect(200);
  });

  test('when an address has 20 failures, then it is refused with 429 for every email while other addresses sign in; a success from it does not clear its count', async () => {
    const user = await newUser();
    const address = newAddress();
    for (let i = 0; i < 19; i += 1) await signIn(`stranger-${i}@example.com`, 'guess', address).expect(401);
    // A success from the same address: its own email's counter is cleared, the address's is not.
    await signIn(user.email, PASSWORD, address).expect(200);
    await signIn('stranger-last@example.com', 'guess', address).expect(401);
    const refused = await signIn(user.email, PASSWORD, address).expect(429);
    assert.equal(refused.body.error.code, 'too_many_attempts');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    await signIn(user.email, PASSWORD, newAddress()).expect(200);
  });

  test('when a session cookie is sent with the sign-in (fixation), then the new session has a new token and the old one is ended', async () => {
    const user = await newUser();
    const planted = `pixelshift_session=${randomBytes(32).toString('base64url')}`;
    const first = await signIn(user.email, PASSWORD, newAddress(), planted).expect(200);
    assert.notEqual(sessionCookie(first), planted);
    const second = await signIn(user.email, PASSWORD, newAddress(), sessionCookie(first)).expect(200);
    assert.notEqual(sessionCookie(second), sessionCookie(first));
    assert.notEqual(second.body.csrfToken, first.body.csrfToken);
    await request(api.app).get('/auth/session').set('Cookie', sessionCookie(first)).expect(401);
    await request(api.app).get('/auth/session').set('Cookie', planted).expect(401);
    await request(api.app).get('/auth/session').set('Cookie', sessionCookie(second)).expect(200);
  });

  test('when the Origin is another site, then sign-in is refused with 403 csrf_failed before the password is checked', async () => {
    const user = await newUser();
    const res = await request(api.app)
      .post('/auth/sign-in')
      .set('Origin', 'https://evil.test')
      .send({ email: user.email, password: PASSWORD })
      .expect(403);
    assert.equal(res.body.error.code, 'csrf_failed');
    assert.equal(res.headers['set-cookie'], undefined);
  });

  test('when the body is malformed, hostile or oversized, then the answer is a precise 4xx, nothing is counted and the user can still sign in', async () => {
    const user = await newUser();
    const address = newAddress();
    const post = () => request(api.app).post('/auth/sign-in').set('X-Forwarded-For', address);
    const notJson = await post().type('text/plain').send('email=a&password=b').expect(415);
    assert.equal(notJson.body.error.code, 'unsupported_media_type');
    const broken = await post().type('application/json').send('{"email": ').expect(400);
    assert.equal(broken.body.error.code, 'invalid_json');
    const huge = await post()
      .send({ email: `${'a'.repeat(300)}@example.com`, password: PASSWORD })
      .expect(400);
    assert.equal(huge.body.error.code, 'invalid_request');
    assert.deepEqual(
      new Set(huge.body.error.issues.map((issue: { path: string }) => issue.path)),
      new Set(['/email']),
    );
    const nul = await post().send({ email: 'ada\u0000@example.com', password: PASSWORD }).expect(400);
    assert.deepEqual(
      nul.body.error.issues.map((issue: { path: string }) => issue.path),
      ['/email'],
    );
    const missing = await post().send({ email: user.email }).expect(400);
    assert.deepEqual(
      missing.body.error.issues.map((issue: { path: string }) => issue.path),
      ['/password'],
    );
    const extra = await post().send({ email: user.email, password: PASSWORD, admin: true }).expect(400);
    assert.equal(extra.body.error.code, 'invalid_request');
    const array = await post().send([user.email, PASSWORD]).expect(400);
    assert.equal(array.body.error.code, 'invalid_request');
    const longPassword = await post()
      .send({ email: user.email, password: 'x'.repeat(1025) })
      .expect(400);
    assert.equal(longPassword.body.error.issues[0].path, '/password');
    const oversized = await post()
      .send({ email: user.email, password: 'x'.repeat(9000) })
      .expect(413);
    assert.equal(oversized.body.error.code, 'payload_too_large');
    // A NUL in a password is only ever hashed: a plain wrong password.
    await post().send({ email: user.email, password: 'pass\u0000word' }).expect(401);
    for (let i = 0; i < 3; i += 1) await post().send({ email: user.email, password: 'wrong' }).expect(401);
    // Four failures so far (the NUL one and three), below the limit of five: nothing malformed counted.
    await signIn(user.email, PASSWORD, address).expect(200);
  });
});

describe('GET /auth/session and POST /auth/sign-out', () => {
  test('when there is no cookie or an unknown one, then GET /auth/session is 401 unauthorized', async () => {
    const none = await request(api.app).get('/auth/session').expect(401);
    assert.equal(none.body.error.code, 'unauthorized');
    await request(api.app).get('/auth/session').set('Cookie', 'pixelshift_session=forged').expect(401);
    await request(api.app)
      .get('/auth/session')
      .set('Cookie', `pixelshift_session=${'x'.repeat(5000)}`)
      .expect(401);
  });

  test('when a user signs out, then the session ends on the server: the cookie is cleared and the old cookie is refused everywhere', async () => {
    const user = await newUser();
    const session = await signedIn(user);
    const refused = await request(api.app)
      .post('/auth/sign-out')
      .set('Cookie', session.cookie)
      .set('Origin', ORIGIN)
      .expect(403);
    assert.equal(refused.body.error.code, 'csrf_failed');
    await request(api.app).get('/auth/session').set('Cookie', session.cookie).expect(200);

    const res = await asDashboard(request(api.app).post('/auth/sign-out'), session).expect(204);
    assert.match(
      String(res.headers['set-cookie']),
      /^pixelshift_session=; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=0$/,
    );
    await request(api.app).get('/auth/session').set('Cookie', session.cookie).expect(401);
    const v1 = await request(api.app).get('/v1/account').set('Cookie', session.cookie).expect(401);
    assert.equal(v1.body.error.code, 'unauthorized');
    await asDashboard(request(api.app).post('/auth/sign-out'), session).expect(401);
  });

  test('when a session is not used for longer than its idle time, then it expires; used, it lives until its absolute expiry', async () => {
    const user = await newUser();
    const idle = await signedIn(user);
    clock = new Date(clock.getTime() + 59 * MINUTE);
    await request(api.app).get('/auth/session').set('Cookie', idle.cookie).expect(200);
    clock = new Date(clock.getTime() + 59 * MINUTE);
    const alive = await request(api.app).get('/v1/account').set('Cookie', idle.cookie).expect(200);
    assert.equal(alive.body.accountId, user.accountId);
    clock = new Date(clock.getTime() + 61 * MINUTE);
    await request(api.app).get('/auth/session').set('Cookie', idle.cookie).expect(401);
    await request(api.app).get('/v1/account').set('Cookie', idle.cookie).expect(401);

    const used = await signedIn(user);
    const started = clock.getTime();
    while (clock.getTime() + 50 * MINUTE < started + 24 * 60 * MINUTE) {
      clock = new Date(clock.getTime() + 50 * MINUTE);
      const res = await request(api.app).get('/auth/session').set('Cookie', used.cookie).expect(200);
      const expiresAt = Date.parse(res.body.expiresAt);
      assert.equal(expiresAt, Math.min(clock.getTime() + 60 * MINUTE, started + 24 * 60 * MINUTE));
    }
    clock = new Date(started + 24 * 60 * MINUTE);
    await request(api.app).get('/auth/session').set('Cookie', used.cookie).expect(401);
  });
});

describe('/v1 with a dashboard session', () => {
  test('when a cookie request changes state without the CSRF token, with a foreign or no Origin, then it is 403 csrf_failed and nothing changes; with both it succeeds', async () => {
    const user = await newUser();
    const session = await signedIn(user);
    const keys = () => request(api.app).get('/v1/keys').set('Cookie', session.cookie).expect(200);
    const before = (await keys()).body.keys.length;

    const noToken = await request(api.app)
      .post('/v1/keys')
      .set('Cookie', session.cookie)
      .set('Origin', ORIGIN)
      .send({ label: 'x' })
      .expect(403);
    assert.equal(noToken.body.error.code, 'csrf_failed');
    const wrongToken = await request(api.app)
      .post('/v1/keys')
      .set('Cookie', session.cookie)
      .set('Origin', ORIGIN)
      .set('X-CSRF-Token', 'A'.repeat(43))
      .send({ label: 'x' })
      .expect(403);
    assert.equal(wrongToken.body.error.code, 'csrf_failed');
    const foreign = await request(api.app)
      .post('/v1/keys')
      .set('Cookie', session.cookie)
      .set('X-CSRF-Token', session.csrfToken)
      .set('Origin', 'https://evil.test')
      .send({ label: 'x' })
      .expect(403);
    assert.equal(foreign.body.error.code, 'csrf_failed');
    const noOrigin = await request(api.app)
      .post('/v1/keys')
      .set('Cookie', session.cookie)
      .set('X-CSRF-Token', session.csrfToken)
      .send({ label: 'x' })
      .expect(403);
    assert.equal(noOrigin.body.error.code, 'csrf_failed');
    assert.equal((await keys()).body.keys.length, before);

    const created = await asDashboard(request(api.app).post('/v1/keys'), session)
      .send({ label: 'from the dashboard' })
      .expect(201);
    assert.equal(created.body.label, 'from the dashboard');
    assert.equal((await keys()).body.keys.length, before + 1);
  });

  test('when a request has a bearer token, then it is a bearer request: no CSRF needed, its own account, and a bad token is not rescued by a cookie', async () => {
    const bearer = await createTestAccount(api);
    const user = await newUser();
    const session = await signedIn(user);
    const created = await request(api.app)
      .post('/v1/keys')
      .set(bearer.auth)
      .set('Cookie', session.cookie)
      .send({ label: 'bearer' })
      .expect(201);
    assert.ok(created.body.keyId);
    const account = await request(api.app)
      .get('/v1/account')
      .set(bearer.auth)
      .set('Cookie', session.cookie)
      .expect(200);
    assert.equal(account.body.accountId, bearer.accountId);
    const bad = await request(api.app)
      .get('/v1/account')
      .set('Authorization', 'Bearer not-a-token')
      .set('Cookie', session.cookie)
      .expect(401);
    assert.equal(bad.headers['www-authenticate'], 'Bearer realm="pixelshift", error="invalid_token"');
    const none = await request(api.app).get('/v1/account').expect(401);
    assert.deepEqual(none.body, {
      error: { code: 'unauthorized', message: 'An access token is required: Authorization: Bearer <token>' },
    });
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="pixelshift"');
  });

  test('when a session asks for another account’s batch, then it is 404; its own batch and its event stream answer', async () => {
    const owner = await createTestAccount(api);
    const ownerUser = await newUser(owner.accountId);
    const stranger = await signedIn(await newUser());
    const submitted = await request(api.app)
      .post('/v1/batches')
      .set(owner.auth)
      .send({ graphs: [validGraph()] })
      .expect(201);
    const batchId = submitted.body.batchId as string;
    await advanceGraphRun(api.db, graphWorkflowId(owner.accountId, batchId, 0), {
      state: 'succeeded',
      sinks: [],
      failures: [],
    });
    await finishBatch(api.db, batchId, 'succeeded');

    const refused = await request(api.app)
      .get(`/v1/batches/${batchId}`)
      .set('Cookie', stranger.cookie)
      .expect(404);
    assert.equal(refused.body.error.code, 'not_found');
    await request(api.app).get(`/v1/batches/${batchId}/events`).set('Cookie', stranger.cookie).expect(404);

    const own = await signedIn(ownerUser);
    const status = await request(api.app).get(`/v1/batches/${batchId}`).set('Cookie', own.cookie).expect(200);
    assert.equal(status.body.state, 'succeeded');
    const events = await request(api.app)
      .get(`/v1/batches/${batchId}/events`)
      .set('Cookie', own.cookie)
      .buffer(true)
      .parse((res, done) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => done(null, text));
      })
      .expect(200);
    assert.match(String(events.headers['content-type']), /^text\/event-stream/);
    assert.match(events.body as string, /event: end/);
  });
});

describe('GET /auth/link/{token}', () => {
  test('when a one-time link is used, then it starts a session and sends the browser to the dashboard; a second use is refused', async () => {
    const user = await newUser();
    const link = await createSignInLink(api.db, user.userId, { now: clock });
    assert.equal(link.url, `/auth/link/${link.token}`);
    const res = await request(api.app).get(link.url).expect(303);
    assert.equal(res.headers.location, '/dashboard/');
    const session = await request(api.app).get('/auth/session').set('Cookie', sessionCookie(res)).expect(200);
    assert.equal(session.body.user.id, user.userId);

    const again = await request(api.app).get(link.url).expect(303);
    assert.equal(again.headers.location, '/dashboard/sign-in?error=link_invalid');
    assert.equal(again.headers['set-cookie'], undefined);
  });

  test('when a link is older than 15 minutes, unknown, hostile or huge, then the browser is sent to the sign-in page with no session', async () => {
    const user = await newUser();
    const link = await createSignInLink(api.db, user.userId, { now: clock });
    clock = new Date(clock.getTime() + 15 * MINUTE + 1);
    for (const path of [
      link.url,
      `/auth/link/${randomBytes(32).toString('base64url')}`,
      '/auth/link/%00%27%22%3Cscript%3E',
      `/auth/link/${'a'.repeat(4000)}`,
    ]) {
      const res = await request(api.app).get(path).expect(303);
      assert.equal(res.headers.location, '/dashboard/sign-in?error=link_invalid', path.slice(0, 40));
      assert.equal(res.headers['set-cookie'], undefined);
    }
  });
});
