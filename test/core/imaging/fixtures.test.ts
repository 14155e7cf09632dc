/**
 * Every fixture of MANIFEST.tsv goes through the engine, so fixtures added later are covered too:
 * good images through a representative graph, bad ones to their pinned error code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { ErrorCode } from '../../../src/core/errors.js';
import { isClassifiedError } from '../../../src/core/errors.js';
import { executeGraph } from '../../../src/core/imaging/index.js';
import { storesOf } from '../../support/memory-store.js';
import { fixturePath, readManifest } from '../../support/fixtures.js';
import { fixtureStore, graphOf, outBucket } from './helpers.js';

/** Fixtures that must fail, with the class they must fail with (decisions recorded in classify.ts). */
const expectedFailures: Record<string, { code: ErrorCode; message?: RegExp | string }> = {
  'bad-bomb-png-65536x65536.png': { code: 'too_large', message: /65536×65536/ },
  'bad-empty-zero-bytes.jpg': {
    code: 'unsupported_input',
    message: /empty \(0 bytes\).*not a supported image format/,
  },
  // Cut inside the EXIF segment: a JPEG, but damaged before its frame header.
  'bad-corrupt-header.jpg': { code: 'corrupt_input', message: /damaged image/ },
  'bad-not-an-image-font.ttf': { code: 'unsupported_input', message: /not a supported image format/ },
  // A damaged signature means nothing identifies the bytes as an image any more.
  'bad-png-corrupt-signature.png': { code: 'unsupported_input', message: /not a supported image format/ },
  'bad-truncated.jpg': { code: 'corrupt_input', message: /premature end of JPEG/ },
  // 280 MP against the default limit of 100 MP (execute-graph.test.ts raises the limit).
  'jpeg-huge-20000x14000-gray.jpg': { code: 'too_large', message: /20000×14000/ },
};

const manifest = readManifest();
const store = fixtureStore();

describe('every fixture of the manifest', () => {
  it('when the manifest is read, then it lists the fixtures this suite pins', () => {
    const files = new Set(manifest.map((entry) => entry.file));
    for (const file of Object.keys(expectedFailures)) assert.ok(files.has(file), file);
  });

  describe('good images', () => {
    for (const entry of manifest) {
      if (entry.file.startsWith('bad-') || expectedFailures[entry.file]) continue;
      it(`when ${entry.file} is resized to 256 px as WebP and JPEG, then both are upright, sized and really those formats`, async () => {
        const input = await sharp(fixturePath(entry.file)).metadata();
        const upright = input.autoOrient; // size of page 0 / frame 0 once EXIF orientation is applied
        const graph = graphOf(
          entry.file,
          [{ type: 'Resize', width: 256, fit: 'inside' }],
          [
            { format: { format: 'webp' }, key: `${entry.file}.webp` },
            { format: { format: 'jpeg' }, key: `${entry.file}.jpg` },
          ],
        );
        const result = await executeGraph(graph, { stores: storesOf(store) });
        assert.deepEqual(result.failures, []);
        assert.equal(result.sinks.length, 2);

        const width = Math.min(256, upright.width);
        const height = (upright.height * width) / upright.width;
        for (const [sink, format] of [
          [result.sinks[0]!, 'webp'],
          [result.sinks[1]!, 'jpeg'],
        ] as const) {
          const bytes = store.object(outBucket, sink.key)!.data;
          const output = await sharp(bytes).metadata(); // sniffed, not trusted from our result
          assert.equal(output.format, format);
          assert.equal(sink.format, format);
          assert.equal(output.width, width);
          assert.ok(Math.abs(output.height - height) <= 1, `${output.height} vs ${height}`);
          assert.equal(sink.width, output.width);
          assert.equal(sink.height, output.pageHeight ?? output.height);
          assert.ok(
            output.orientation === undefined || output.orientation === 1,
            `orientation ${output.orientation}`,
          );
          assert.equal(sink.bytes, bytes.length);
          if (format === 'jpeg') {
            assert.equal(output.channels, 3, 'JPEG output is flattened, without alpha');
            assert.equal(output.pages ?? 1, 1, 'JPEG output is a still');
          }
        }
      });
    }
  });

  describe('bad images', () => {
    let rssBefore = 0;
    before(() => {
      rssBefore = process.memoryUsage().rss;
    });
    after(() => {
      // The bomb and the 280 MP JPEG are refused on their headers: decoding either would cost gigabytes.
      const grownMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
      assert.ok(grownMb < 200, `resident memory grew by ${grownMb.toFixed(0)} MB`);
    });

    for (const entry of manifest) {
      const expected =
        expectedFailures[entry.file] ?? (entry.file.startsWith('bad-') ? { code: undefined } : undefined);
      if (!expected) continue;
      it(`when ${entry.file} is the source, then the graph fails with ${expected.code ?? 'a classified error'} and writes nothing`, async () => {
        const key = `bad/${entry.file}.webp`;
        const graph = graphOf(
          entry.file,
          [{ type: 'Resize', width: 256 }],
          [{ format: { format: 'webp' }, key }],
        );
        await assert.rejects(executeGraph(graph, { stores: storesOf(store) }), (error) => {
          assert.ok(isClassifiedError(error), String(error));
          if (expected.code) assert.equal(error.code, expected.code, error.message);
          const message = 'message' in expected ? expected.message : undefined;
          if (typeof message === 'string') assert.ok(error.message.startsWith(message), error.message);
          else if (message) assert.match(error.message, message);
          assert.equal(error.unit, '/transformUnits/0');
          assert.match(error.message, /\(StorageSource at \/transformUnits\/0\)$/);
          return true;
        });
        assert.equal(store.object(outBucket, key), undefined);
      });
    }
  });
});
