/** executeGraph's contract: outcomes per sink, one download, idempotent bytes, cancellation, limits. */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import sharp from 'sharp';
import { isClassifiedError } from '../../../src/core/errors.js';
import type { TransformGraph } from '../../../src/core/graph/index.js';
import { hashCanonicalJson } from '../../../src/core/canonical-json.js';
import { executeGraph, SourceSupersededError } from '../../../src/core/imaging/index.js';
import { LocalObjectStore } from '../../../src/core/storage/local-store.js';
import { fixturePath } from '../../support/fixtures.js';
import { MemoryStore, storesOf } from '../../support/memory-store.js';
import { fixtureStore, graphOf, inBucket, outBucket } from './helpers.js';

const photo = 'jpeg-baseline-photo-2725x2225.jpg';

/** docs/architecture.md §3 example, on a fixture. */
function designExample(prefix: string, sinkBucket = outBucket): TransformGraph {
  return graphOf(
    photo,
    [{ type: 'Resize', width: 400, fit: 'inside' }],
    [
      { format: { format: 'webp', quality: 80 }, key: `${prefix}/cat-400.webp` },
      {
        ops: [{ type: 'Resize', width: 64, height: 64, fit: 'cover', position: 'attention' }],
        format: { format: 'jpeg', quality: 82 },
        key: `${prefix}/cat-thumb.jpg`,
        bucket: sinkBucket,
      },
      { ops: [{ type: 'Grayscale' }], format: { format: 'png' }, key: `${prefix}/cat-grey.png` },
    ],
  );
}

describe('executeGraph', () => {
  it('when the same graph runs twice, then it writes the same keys with identical bytes', async () => {
    const store = fixtureStore();
    const first = await executeGraph(designExample('idem'), { stores: storesOf(store) });
    const bytes = new Map(first.sinks.map((s) => [s.key, store.object(outBucket, s.key)!.data]));
    const second = await executeGraph(designExample('idem'), { stores: storesOf(store) });
    assert.deepEqual(
      second.sinks.map((s) => s.key),
      first.sinks.map((s) => s.key),
    );
    for (const sink of second.sinks)
      assert.ok(store.object(outBucket, sink.key)!.data.equals(bytes.get(sink.key)!), sink.key);
    assert.deepEqual(second, first, 'same results, etags included');
  });

  it('when a graph has three outputs, then the source is downloaded once', async () => {
    const store = fixtureStore();
    const result = await executeGraph(designExample('once'), { stores: storesOf(store) });
    assert.equal(result.sinks.length, 3);
    assert.equal(store.calls.getBuffer, 1);
    assert.equal(store.calls.getStream, 0);
  });

  it('when the store refuses writes to one bucket, then that sink fails and the others are written', async () => {
    const store = fixtureStore().refuseWrites('locked');
    const result = await executeGraph(designExample('partial', 'locked'), { stores: storesOf(store) });
    assert.deepEqual(
      result.sinks.map((s) => s.key),
      ['partial/cat-400.webp', 'partial/cat-grey.png'],
    );
    assert.deepEqual(result.failures.length, 1);
    const failure = result.failures[0]!;
    assert.deepEqual(
      [failure.bucket, failure.key, failure.storage],
      ['locked', 'partial/cat-thumb.jpg', 'default'],
    );
    assert.equal(failure.error.code, 'access_denied');
    assert.equal(failure.error.unit, '/outputs/1/transformUnits/2');
    assert.match(failure.error.message, /\(StorageSink at \/outputs\/1\/transformUnits\/2\)$/);
  });

  it('when one write fails transiently, then the others complete and the call rejects with the transient error', async () => {
    const store = fixtureStore().failWritesTransiently('slow', 1500);
    await assert.rejects(
      executeGraph(designExample('retry', 'slow'), { stores: storesOf(store) }),
      (error) => {
        assert.ok(isClassifiedError(error));
        assert.equal(error.code, 'transient');
        assert.equal(error.retryAfterMs, 1500);
        return true;
      },
    );
    assert.ok(store.object(outBucket, 'retry/cat-400.webp'));
    assert.ok(store.object(outBucket, 'retry/cat-grey.png'));
  });

  it('when results come back, then they describe what was written', async () => {
    const store = fixtureStore();
    const progress: { stage: string; completedSinks: number; totalSinks: number }[] = [];
    const result = await executeGraph(designExample('describe'), {
      stores: storesOf(store),
      onProgress: (p) => progress.push(p),
    });
    const thumb = result.sinks.find((s) => s.key === 'describe/cat-thumb.jpg')!;
    const written = store.object(outBucket, thumb.key)!;
    assert.deepEqual(thumb, {
      bucket: outBucket,
      key: 'describe/cat-thumb.jpg',
      storage: 'default',
      bytes: written.data.length,
      format: 'jpeg',
      width: 64,
      height: 64,
      etag: written.etag,
      provenance: thumb.provenance,
    });
    assert.equal(progress[0]?.stage, 'download');
    assert.deepEqual(progress.at(-1), { stage: progress.at(-1)!.stage, completedSinks: 3, totalSinks: 3 });
  });

  it('when an output is written, then its metadata says which graph, source and engine made it', async () => {
    const store = fixtureStore();
    const graph = designExample('provenance');
    const result = await executeGraph(graph, {
      stores: storesOf(store),
      sinkMetadata: { 'pixelshift-graph-id': 'wf-123' },
    });
    const source = store.object(inBucket, photo)!;
    const { version } = JSON.parse(
      readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
    ) as {
      version: string;
    };
    const expected = {
      graphHash: hashCanonicalJson(graph),
      sourceEtag: source.etag.replaceAll('"', ''),
      engine: `pixelshift/${version} sharp/${sharp.versions.sharp} libvips/${sharp.versions.vips}`,
    };
    for (const sink of result.sinks) {
      assert.deepEqual(sink.provenance, expected);
      const { metadata } = store.object(sink.bucket, sink.key)!;
      assert.equal(metadata['pixelshift-graph-hash'], expected.graphHash);
      assert.equal(metadata['pixelshift-source-etag'], expected.sourceEtag);
      assert.equal(metadata['pixelshift-engine'], expected.engine);
      assert.equal(metadata['pixelshift-graph-id'], 'wf-123');
    }
    // The hash names the graph, not the run: the same graph gives the same hash, another graph another.
    const again = await executeGraph(designExample('provenance'), { stores: storesOf(store) });
    assert.equal(again.sinks[0]!.provenance.graphHash, expected.graphHash);
    const other = await executeGraph(designExample('other'), { stores: storesOf(store) });
    assert.notEqual(other.sinks[0]!.provenance.graphHash, expected.graphHash);
  });

  describe('cancellation', () => {
    it('when the signal is already aborted, then it rejects with an AbortError and reads and writes nothing', async () => {
      const store = fixtureStore();
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(
        executeGraph(designExample('abort'), { stores: storesOf(store), signal: controller.signal }),
        {
          name: 'AbortError',
        },
      );
      assert.equal(store.calls.getBuffer, 0);
      assert.equal(store.calls.put, 0);
    });

    it('when the signal aborts between stages, then it rejects with the reason and writes nothing', async () => {
      const store = fixtureStore();
      const controller = new AbortController();
      const graph = graphOf(
        photo,
        [{ type: 'Resize', width: 200 }, { type: 'Grayscale' }, { type: 'Resize', width: 100 }],
        [{ format: { format: 'png' }, key: 'abort/two-stages.png' }],
      );
      const reason = new DOMException('worker shutting down', 'AbortError');
      await assert.rejects(
        executeGraph(graph, {
          stores: storesOf(store),
          signal: controller.signal,
          onProgress: ({ stage }) => {
            if (stage === 's2') controller.abort(reason);
          },
        }),
        (error) => error === reason,
      );
      assert.equal(store.calls.put, 0);
    });
  });

  describe('source failures fail the whole graph', () => {
    it('when the source object is missing, then it rejects with source_not_found naming the source', async () => {
      const graph = graphOf('no-such.jpg', [{ type: 'Blur' }], [{ format: { format: 'png' }, key: 'x.png' }]);
      await assert.rejects(executeGraph(graph, { stores: storesOf(new MemoryStore()) }), {
        code: 'source_not_found',
        unit: '/transformUnits/0',
      });
    });

    it('when the source is bigger than the byte limit, then it rejects with too_large', async () => {
      await assert.rejects(
        executeGraph(designExample('bytes'), { stores: storesOf(fixtureStore()), maxSourceBytes: 1000 }),
        { code: 'too_large', unit: '/transformUnits/0' },
      );
    });

    it('when a truncated JPEG feeds several branches, then it rejects as corrupt_input (failOn error) and writes nothing', async () => {
      const store = fixtureStore();
      const graph = graphOf(
        'bad-truncated.jpg',
        [],
        [
          { ops: [{ type: 'Resize', width: 100 }], format: { format: 'webp' }, key: 'cut/a.webp' },
          { ops: [{ type: 'Resize', width: 50 }], format: { format: 'jpeg' }, key: 'cut/b.jpg' },
        ],
      );
      await assert.rejects(executeGraph(graph, { stores: storesOf(store) }), {
        code: 'corrupt_input',
        unit: '/transformUnits/0',
      });
      assert.equal(store.calls.put, 0);
    });

    it('when the page asked for does not exist, then it rejects as invalid_graph naming the source', async () => {
      const graph = graphOf(
        'tiff-multipage-2-pages-g3.tif',
        [{ type: 'Blur' }],
        [{ format: { format: 'png' }, key: 'p.png' }],
        {
          page: 5,
        },
      );
      await assert.rejects(executeGraph(graph, { stores: storesOf(fixtureStore()) }), {
        code: 'invalid_graph',
        message: 'Expected a page below 2 for page but received 5 (StorageSource at /transformUnits/0)',
      });
    });
  });

  it('when the pixel limit is raised, then the 280 MP JPEG is resized with shrink-on-load', async () => {
    const store = fixtureStore();
    const graph = graphOf(
      'jpeg-huge-20000x14000-gray.jpg',
      [{ type: 'Resize', width: 256 }],
      [{ format: { format: 'jpeg' }, key: 'huge/small.jpg' }],
    );
    const started = Date.now();
    const result = await executeGraph(graph, { stores: storesOf(store), maxInputPixels: 300_000_000 });
    const meta = await sharp(store.object(outBucket, 'huge/small.jpg')!.data).metadata();
    assert.deepEqual([meta.width, meta.height], [256, 179]);
    assert.deepEqual([result.sinks[0]!.width, result.sinks[0]!.height], [256, 179]);
    assert.ok(Date.now() - started < 15_000, `${Date.now() - started} ms`);
  });
});

describe('executeGraph on a source replaced after its event', () => {
  const jpeg = readFileSync(fixturePath('jpeg-progressive-srgb-icc.jpg'));
  const graph = graphOf(
    'upload.jpg',
    [{ type: 'Resize', width: 32 }],
    [{ format: { format: 'webp' }, key: 'superseded/upload.webp' }],
  );
  let root: string;
  let store: LocalObjectStore;
  let file: string;

  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'pixelshift-superseded-'));
    mkdirSync(path.join(root, inBucket));
    store = new LocalObjectStore(root);
    file = path.join(root, inBucket, 'upload.jpg');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const revisionNow = async () => (await store.head(inBucket, 'upload.jpg')).revision!;
  const written = () => store.list(outBucket).catch(() => []);

  it('when the file the event named has been replaced, then the run is superseded and writes nothing', async () => {
    writeFileSync(file, jpeg);
    const named = await revisionNow();
    writeFileSync(file, Buffer.concat([jpeg, Buffer.from('a newer upload')]));
    const error = await executeGraph(graph, { stores: storesOf(store), expectedSourceRevision: named }).then(
      () => assert.fail('expected the run to be superseded'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof SourceSupersededError, String(error));
    assert.equal(error.expected, named);
    assert.equal(error.found, await revisionNow());
    assert.deepEqual(await written(), []);
  });

  it('when the file the event named has been deleted since, then the run is superseded (not failed) and writes nothing', async () => {
    writeFileSync(file, jpeg);
    const named = await revisionNow();
    rmSync(file);
    const error = await executeGraph(graph, { stores: storesOf(store), expectedSourceRevision: named }).then(
      () => assert.fail('expected the run to be superseded'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof SourceSupersededError, String(error));
    assert.equal(error.expected, named);
    assert.equal(error.found, undefined);
    assert.match(error.message, /deleted after its event/);
    assert.deepEqual(await written(), []);
  });

  it('when a graph without an event revision finds its source missing, then it still fails as source_not_found', async () => {
    const error = await executeGraph(graph, { stores: storesOf(store) }).then(
      () => assert.fail('expected the run to fail'),
      (caught: unknown) => caught,
    );
    assert.ok(isClassifiedError(error), String(error));
    assert.equal(error.code, 'source_not_found');
  });

  it('when the file is still the revision the event named, then the run processes it', async () => {
    writeFileSync(file, jpeg);
    const result = await executeGraph(graph, {
      stores: storesOf(store),
      expectedSourceRevision: await revisionNow(),
    });
    assert.deepEqual(result.failures, []);
    assert.equal(result.sinks.length, 1);
  });

  it('when a half-written file is read and its writer resumes before the decode fails, then the run is superseded, not failed', async () => {
    writeFileSync(file, jpeg.subarray(0, 20_000));
    const named = await revisionNow();
    // The writer appends the rest right after the run has downloaded the first part.
    const resumingWriter = Object.assign(Object.create(store) as LocalObjectStore, {
      async getBuffer(...args: Parameters<LocalObjectStore['getBuffer']>) {
        const read = await store.getBuffer(...args);
        appendFileSync(file, jpeg.subarray(20_000));
        return read;
      },
    });
    const error = await executeGraph(graph, {
      stores: storesOf(resumingWriter),
      expectedSourceRevision: named,
    }).then(
      () => assert.fail('expected the run to be superseded'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof SourceSupersededError, String(error));
    assert.deepEqual(await written(), []);
  });

  it('when a half-written file stays as it is, then the run fails as corrupt_input as before', async () => {
    writeFileSync(file, jpeg.subarray(0, 20_000));
    const error = await executeGraph(graph, {
      stores: storesOf(store),
      expectedSourceRevision: await revisionNow(),
    }).then(
      () => assert.fail('expected the run to fail'),
      (caught: unknown) => caught,
    );
    assert.ok(isClassifiedError(error), String(error));
    assert.equal(error.code, 'corrupt_input');
  });
});
