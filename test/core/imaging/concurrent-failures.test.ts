import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { TransformGraph } from '../../../src/core/graph/index.js';
import { executeGraph } from '../../../src/core/imaging/index.js';
import { LocalObjectStore } from '../../../src/core/storage/local-store.js';
import { fixturePath } from '../../support/fixtures.js';

test('when many graphs over a truncated JPEG run at once, then every one fails as a whole with corrupt_input', async () => {
  // libvips' error text is process-wide; concurrent failures once surfaced as "Unknown error" per sink.
  const root = await mkdtemp(path.join(os.tmpdir(), 'pixelshift-concurrent-'));
  try {
    await mkdir(path.join(root, 'photos'));
    await copyFile(fixturePath('bad-truncated.jpg'), path.join(root, 'photos', 'bad.jpg'));
    const store = new LocalObjectStore(root);
    const graph: TransformGraph = {
      transformUnits: [
        { type: 'StorageSource', bucket: 'photos', key: 'bad.jpg' },
        { type: 'Resize', width: 64, height: 64, fit: 'cover' },
      ],
      outputs: [
        {
          transformUnits: [
            { type: 'ImageFormat', format: 'webp' },
            { type: 'StorageSink', bucket: 'out', key: 'a.webp' },
          ],
        },
        {
          transformUnits: [
            { type: 'ImageFormat', format: 'jpeg' },
            { type: 'StorageSink', bucket: 'out', key: 'a.jpg' },
          ],
        },
      ],
    };
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, () =>
        executeGraph(graph, { stores: { get: () => store } }).then(
          () => 'completed',
          (error: { code?: string }) => error.code,
        ),
      ),
    );
    assert.deepEqual(new Set(outcomes), new Set(['corrupt_input']));
    assert.deepEqual(await store.list('out').catch(() => []), [], 'nothing was written');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
