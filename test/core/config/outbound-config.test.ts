import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/core/config.js';

test('when allow-list entries carry ports, then they are read as given', () => {
  const config = loadConfig({ PIXELSHIFT_OUTBOUND_ALLOW: '127.0.0.1:3201, [::1]:8080 ,10.0.0.0/8:443' });
  assert.deepEqual(config.outbound.allow, ['127.0.0.1:3201', '[::1]:8080', '10.0.0.0/8:443']);
});

test('when an allow-list entry is malformed, then start-up stops naming the setting', () => {
  for (const value of ['10.0.0.0/99', '127.0.0.1:0', '127.0.0.1:70000', '[::1]:']) {
    assert.throws(
      () => loadConfig({ PIXELSHIFT_OUTBOUND_ALLOW: value }),
      (error: unknown) => error instanceof ConfigError && error.message.includes('PIXELSHIFT_OUTBOUND_ALLOW'),
      value,
    );
  }
});
