import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/core/config.js';

test('when no worker drain time is configured, then stopping workers let activities run on for 30 s', () => {
  assert.equal(loadConfig({}).worker.drainMs, 30_000);
});

test('when a drain time is configured, then it is read in milliseconds', () => {
  assert.equal(loadConfig({ PIXELSHIFT_WORKER_DRAIN: '2m' }).worker.drainMs, 120_000);
  assert.equal(loadConfig({ PIXELSHIFT_WORKER_DRAIN: '0s' }).worker.drainMs, 0);
});

test('when the drain time is malformed or over an hour, then start-up stops naming the variable', () => {
  for (const value of ['', '30', '30 seconds', '-5s', '2h']) {
    assert.throws(
      () => loadConfig({ PIXELSHIFT_WORKER_DRAIN: value }),
      (error: unknown) => error instanceof ConfigError && error.message.includes('PIXELSHIFT_WORKER_DRAIN'),
      value,
    );
  }
});

test('when no worker metrics address is configured, then the worker serves no metrics', () => {
  assert.equal(loadConfig({}).worker.metricsAddress, undefined);
});

test('when a worker metrics address is host:port, then it is taken as given', () => {
  for (const value of ['0.0.0.0:9464', '127.0.0.1:0', '[::]:9464', 'worker-0.metrics:9464']) {
    assert.equal(loadConfig({ PIXELSHIFT_WORKER_METRICS_ADDRESS: value }).worker.metricsAddress, value);
  }
});

test('when the worker metrics address is not host:port, then start-up stops naming the variable', () => {
  for (const value of [
    '',
    '9464',
    ':9464',
    '0.0.0.0',
    '0.0.0.0:99999',
    'http://0.0.0.0:9464',
    '0.0.0.0:9464/metrics',
  ]) {
    assert.throws(
      () => loadConfig({ PIXELSHIFT_WORKER_METRICS_ADDRESS: value }),
      (error: unknown) =>
        error instanceof ConfigError && error.message.includes('PIXELSHIFT_WORKER_METRICS_ADDRESS'),
      value,
    );
  }
});
