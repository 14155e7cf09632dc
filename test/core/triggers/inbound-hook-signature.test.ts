import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { generateSigningSecret } from '../../../src/core/auth/secret-box.js';
import {
  TIMESTAMP_TOLERANCE_SECONDS,
  verifyHookRequest,
} from '../../../src/core/triggers/inbound-hook-signature.js';

const secret = generateSigningSecret();
const body = Buffer.from('{"data":{"key":"in/cat.jpg"}}');

/** Signed by hand, as the spec describes it, independently of the library. */
function handSignature(secretText: string, id: string, timestamp: number, payload: Buffer): string {
  const key = Buffer.from(secretText.replace(/^whsec_/, ''), 'base64');
  const mac = createHmac('sha256', key)
    .update(Buffer.concat([Buffer.from(`${id}.${timestamp}.`), payload]))
    .digest('base64');
  return `v1,${mac}`;
}

function headersFor(options: { id?: string; timestamp?: number; signature?: string } = {}) {
  const id = options.id ?? 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': options.signature ?? handSignature(secret, id, timestamp, body),
  };
}

const verify = (headers: Record<string, string | string[] | undefined>, secrets = [secret], payload = body) =>
  verifyHookRequest({ headers, body: payload, secrets, now: new Date() });

describe('inbound hook verification', () => {
  it('when the signature is made by hand per the spec, then the request is verified with its id and time', () => {
    const headers = headersFor();
    const result = verify(headers);
    assert.equal(result.ok, true);
    assert.equal(result.ok && result.value.webhookId, headers['webhook-id']);
    assert.equal(result.ok && result.value.timestamp.getTime() / 1000, Number(headers['webhook-timestamp']));
  });

  it('when the signature is made by the library, then it is verified too', () => {
    const now = new Date();
    const signature = new Webhook(secret).sign('msg_lib', now, body);
    assert.equal(
      verify(headersFor({ id: 'msg_lib', timestamp: Math.floor(now.getTime() / 1000), signature })).ok,
      true,
    );
  });

  it('when several signatures are sent and one matches, then the request is verified', () => {
    const headers = headersFor();
    const other = handSignature(
      generateSigningSecret(),
      headers['webhook-id'],
      Number(headers['webhook-timestamp']),
      body,
    );
    headers['webhook-signature'] = `v1,AAAA ${other} ${headers['webhook-signature']}`;
    assert.equal(verify(headers).ok, true);
  });

  it('when the body, the id or the timestamp differs from what was signed, then the signature fails', () => {
    const headers = headersFor();
    assert.deepEqual(
      cause(verify(headers, [secret], Buffer.from('{"data":{"key":"in/dog.jpg"}}'))),
      'bad_signature',
    );
    assert.equal(cause(verify({ ...headers, 'webhook-id': 'msg_other' })), 'bad_signature');
    const moved = String(Number(headers['webhook-timestamp']) - 1);
    assert.equal(cause(verify({ ...headers, 'webhook-timestamp': moved })), 'bad_signature');
  });

  it('when the secret is another one or the version prefix is not v1, then the signature fails', () => {
    assert.equal(cause(verify(headersFor(), [generateSigningSecret()])), 'bad_signature');
    const headers = headersFor();
    headers['webhook-signature'] = headers['webhook-signature'].replace(/^v1,/, 'v2,');
    assert.equal(cause(verify(headers)), 'bad_signature');
    assert.equal(cause(verify({ ...headersFor(), 'webhook-signature': 'garbage' })), 'bad_signature');
  });

  it('when the previous secret of a rotation signed it, then it is verified with either secret listed', () => {
    const old = generateSigningSecret();
    const id = 'msg_rotated';
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = headersFor({ id, timestamp, signature: handSignature(old, id, timestamp, body) });
    assert.equal(verify(headers, [secret, old]).ok, true);
    assert.equal(cause(verify(headers, [secret])), 'bad_signature');
  });

  it('when a header is missing, empty or repeated, then it fails as a missing header', () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const headers: Record<string, string | string[] | undefined> = headersFor();
      delete headers[name];
      assert.equal(cause(verify(headers)), 'missing_header', name);
      assert.equal(cause(verify({ ...headersFor(), [name]: '' })), 'missing_header', name);
      const value = headersFor()[name];
      assert.equal(cause(verify({ ...headersFor(), [name]: [value, value] })), 'missing_header', name);
    }
  });

  it('when the timestamp is older or further ahead than 5 minutes, then it fails as stale or future', () => {
    const now = Math.floor(Date.now() / 1000);
    const at = (timestamp: number) => verify(headersFor({ timestamp }));
    assert.equal(cause(at(now - TIMESTAMP_TOLERANCE_SECONDS - 5)), 'stale_timestamp');
    assert.equal(cause(at(now + TIMESTAMP_TOLERANCE_SECONDS + 5)), 'future_timestamp');
    assert.equal(at(now - TIMESTAMP_TOLERANCE_SECONDS + 5).ok, true);
    assert.equal(at(now + TIMESTAMP_TOLERANCE_SECONDS - 5).ok, true);
  });

  it('when the library alone checks a stale or future timestamp, then it refuses it too', () => {
    const webhook = new Webhook(secret);
    for (const offset of [-TIMESTAMP_TOLERANCE_SECONDS - 5, TIMESTAMP_TOLERANCE_SECONDS + 5]) {
      const headers = headersFor({ timestamp: Math.floor(Date.now() / 1000) + offset });
      assert.throws(() => webhook.verify(body, headers, { jsonParse: false }), /timestamp too (old|new)/);
    }
  });

  it('when the timestamp is not whole seconds as digits, then it fails as invalid', () => {
    for (const timestamp of [
      '12.5',
      '1e9',
      'now',
      '-100',
      ' 1700000000',
      `${Math.floor(Date.now() / 1000)}abc`,
    ]) {
      assert.equal(
        cause(verify({ ...headersFor(), 'webhook-timestamp': timestamp })),
        'invalid_timestamp',
        timestamp,
      );
    }
  });
});

function cause(result: ReturnType<typeof verifyHookRequest>): string | undefined {
  return result.ok ? undefined : result.error.cause;
}
