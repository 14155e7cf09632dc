import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  parseBasicCredentials,
  parseTokenRequest,
  type TokenRequestInput,
} from '../../../src/core/auth/client-credentials.js';

/** RFC 6749 §2.3.1: form-urlencode id and secret, then join with ":" and base64-encode. */
function basicHeader(id: string, secret: string): string {
  const form = (text: string) => encodeURIComponent(text).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${form(id)}:${form(secret)}`).toString('base64')}`;
}

const input = (overrides: Partial<TokenRequestInput> = {}): TokenRequestInput => ({
  isForm: true,
  authorization: undefined,
  form: { grant_type: 'client_credentials' },
  ...overrides,
});

describe('HTTP Basic client credentials (RFC 6749 §2.3.1)', () => {
  test('when id and secret hold ":", "+", spaces, "%" and non-ASCII, then they survive the form-encoding round trip', () => {
    for (const [id, secret] of [
      ['pk_abc', 'sk_plain'],
      ['id:with:colons', 'secret:too'],
      ['plus+sign', 'a b+c'],
      ['percent%41', '%zz%'],
      ['ünïcödé', '秘密'],
    ] as const) {
      assert.deepEqual(parseBasicCredentials(basicHeader(id, secret)), { id, secret });
    }
  });

  test('when the parts were not form-encoded, then "+" reads as a space (as the RFC says)', () => {
    const raw = `Basic ${Buffer.from('client:a+b').toString('base64')}`;
    assert.deepEqual(parseBasicCredentials(raw), { id: 'client', secret: 'a b' });
  });

  test('when the header is not decodable Basic credentials, then there are none', () => {
    for (const header of [
      'Bearer abc',
      'Basic',
      'Basic !!!',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      `Basic ${Buffer.from(':secret').toString('base64')}`,
      `Basic ${Buffer.from('id:').toString('base64')}`,
      `Basic ${Buffer.from('id:%E0%A4%A').toString('base64')}`,
    ]) {
      assert.equal(parseBasicCredentials(header), undefined, header);
    }
  });

  test('when the scheme is written in another case, then it is still Basic', () => {
    assert.deepEqual(parseBasicCredentials(basicHeader('a', 'b').replace('Basic', 'bAsIc')), {
      id: 'a',
      secret: 'b',
    });
  });
});

describe('token request parsing', () => {
  test('when credentials come by Basic, then the method is client_secret_basic', () => {
    const result = parseTokenRequest(input({ authorization: basicHeader('pk_1', 'sk_1') }));
    assert.deepEqual(result, {
      ok: true,
      value: { clientId: 'pk_1', clientSecret: 'sk_1', scope: undefined, method: 'client_secret_basic' },
    });
  });

  test('when credentials come in the body, then the method is client_secret_post', () => {
    const result = parseTokenRequest(
      input({
        form: {
          grant_type: 'client_credentials',
          client_id: 'pk_1',
          client_secret: 'sk_1',
          extra: 'ignored',
        },
      }),
    );
    assert.deepEqual(result, {
      ok: true,
      value: { clientId: 'pk_1', clientSecret: 'sk_1', scope: undefined, method: 'client_secret_post' },
    });
  });

  test('when Basic is used and the body repeats the same client_id, then that is accepted', () => {
    const result = parseTokenRequest(
      input({
        authorization: basicHeader('pk_1', 'sk_1'),
        form: { grant_type: 'client_credentials', client_id: 'pk_1' },
      }),
    );
    assert.equal(result.ok, true);
  });

  const refused: [string, Partial<TokenRequestInput>, string, number][] = [
    ['the body is not a form', { isForm: false, form: undefined }, 'invalid_request', 400],
    ['grant_type is missing', { form: {} }, 'invalid_request', 400],
    ['grant_type is empty (counts as missing)', { form: { grant_type: '' } }, 'invalid_request', 400],
    [
      'grant_type is repeated',
      { form: { grant_type: ['client_credentials', 'client_credentials'] } },
      'invalid_request',
      400,
    ],
    [
      'grant_type is another grant',
      { form: { grant_type: 'authorization_code' } },
      'unsupported_grant_type',
      400,
    ],
    [
      'Basic and client_secret are both sent',
      {
        authorization: basicHeader('a', 'b'),
        form: { grant_type: 'client_credentials', client_secret: 'b' },
      },
      'invalid_request',
      400,
    ],
    [
      'Basic and a different client_id are sent',
      { authorization: basicHeader('a', 'b'), form: { grant_type: 'client_credentials', client_id: 'c' } },
      'invalid_request',
      400,
    ],
    ['no credentials are sent', {}, 'invalid_client', 401],
    [
      'only a client_id is sent',
      { form: { grant_type: 'client_credentials', client_id: 'a' } },
      'invalid_client',
      401,
    ],
    ['the Authorization header is not Basic', { authorization: 'Bearer x' }, 'invalid_client', 401],
  ];
  for (const [when, overrides, error, status] of refused) {
    test(`when ${when}, then ${error} (${status})`, () => {
      const result = parseTokenRequest(input(overrides));
      assert.equal(result.ok, false);
      if (!result.ok) {
        assert.equal(result.error.error, error);
        assert.equal(result.error.status, status);
      }
    });
  }
});
