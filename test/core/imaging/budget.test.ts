/** ImageFormat.maxBytes: the best output at or under a byte budget, or budget_unreachable for that sink. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { validateGraph } from '../../../src/core/graph/index.js';
import { executeGraph } from '../../../src/core/imaging/index.js';
import { budgetQualityFloor } from '../../../src/core/imaging/budget.js';
import { storesOf } from '../../support/memory-store.js';
import { fixtureStore, graphOf, outBucket, type FormatSpec } from './helpers.js';

const store = fixtureStore();
const photo = 'jpeg-baseline-photo-2725x2225.jpg';
const resize = [{ type: 'Resize' as const, width: 800 }];
/** AVIF encodes are slow: its cases run on a smaller image. */
const widthFor = (format: FormatSpec) => (format.format === 'avif' ? 320 : 800);

async function budgeted(format: FormatSpec, file = photo) {
  const key = `budget/${Math.random().toString(36).slice(2)}`;
  const ops = [{ type: 'Resize' as const, width: widthFor(format) }];
  const result = await executeGraph(graphOf(file, ops, [{ format, key }]), { stores: storesOf(store) });
  assert.deepEqual(result.failures, []);
  const sink = result.sinks[0]!;
  return { sink, data: store.object(outBucket, key)!.data };
}

async function unbudgeted(format: FormatSpec, file = photo): Promise<number> {
  const { data } = await budgeted({ ...format, maxBytes: undefined }, file);
  return data.length;
}

describe('ImageFormat.maxBytes', () => {
  it('when the output fits the budget at its quality, then it is written at that quality', async () => {
    const { sink, data } = await budgeted({ format: 'jpeg', quality: 75, maxBytes: 2_000_000 });
    assert.equal(sink.quality, 75);
    assert.equal(data.length, await unbudgeted({ format: 'jpeg', quality: 75 }));
    assert.equal(sink.width, 800);
  });

  for (const format of ['jpeg', 'webp', 'avif'] as const) {
    it(`when a ${format} output is over the budget, then a lower quality brings it under, using most of the budget`, async () => {
      const full = await unbudgeted({ format });
      const maxBytes = Math.round(full * 0.6);
      const { sink, data } = await budgeted({ format, maxBytes });
      assert.ok(data.length <= maxBytes, `${data.length} bytes for a budget of ${maxBytes}`);
      assert.ok(data.length > maxBytes * 0.75, `${data.length} bytes leaves most of ${maxBytes} unused`);
      assert.equal(sink.bytes, data.length);
      assert.ok(sink.quality! < (format === 'avif' ? 50 : 80) && sink.quality! >= budgetQualityFloor);
      assert.equal(sink.width, widthFor({ format }), 'the size is kept while quality suffices');
      assert.equal((await sharp(data).metadata()).format, format === 'avif' ? 'heif' : format);
    });
  }

  it('when even the lowest quality is over the budget, then the image is made smaller to fit', async () => {
    const atFloor = await unbudgeted({ format: 'jpeg', quality: budgetQualityFloor });
    const maxBytes = Math.round(atFloor * 0.4);
    const { sink, data } = await budgeted({ format: 'jpeg', maxBytes });
    assert.ok(data.length <= maxBytes, `${data.length} bytes for a budget of ${maxBytes}`);
    assert.ok(sink.width < 800 && sink.width > 300, `width ${sink.width}`);
    const meta = await sharp(data).metadata();
    assert.deepEqual([meta.width, meta.height], [sink.width, sink.height]);
  });

  it('when the budget cannot be met, then that sink fails with budget_unreachable and the others are written', async () => {
    const graph = graphOf(photo, resize, [
      { format: { format: 'webp', maxBytes: 100 }, key: 'budget/tiny.webp' },
      { format: { format: 'webp' }, key: 'budget/free.webp' },
    ]);
    const result = await executeGraph(graph, { stores: storesOf(store) });
    assert.deepEqual(
      result.sinks.map((s) => s.key),
      ['budget/free.webp'],
    );
    assert.equal(result.sinks[0]!.quality, undefined, 'no budget, no chosen quality');
    assert.equal(result.failures.length, 1);
    const failure = result.failures[0]!;
    assert.equal(failure.key, 'budget/tiny.webp');
    assert.equal(failure.error.code, 'budget_unreachable');
    assert.equal(failure.error.unit, '/outputs/0/transformUnits/0');
    assert.match(failure.error.message, /^Expected an output of at most 100 bytes for maxBytes/);
    assert.equal(store.object(outBucket, 'budget/tiny.webp'), undefined);
  });

  it('when a source has alpha and the budget is for JPEG, then the output is flattened and fits', async () => {
    const { data } = await budgeted({ format: 'jpeg', maxBytes: 20_000 }, 'png-rgba-alpha.png');
    assert.ok(data.length <= 20_000);
    assert.equal((await sharp(data).metadata()).channels, 3);
  });

  it('when maxBytes is given for PNG or with lossless, then the graph is refused up front', () => {
    const png = validateGraph(
      graphOf(photo, resize, [{ format: { format: 'png', maxBytes: 1000 }, key: 'x' }]),
    );
    const lossless = validateGraph(
      graphOf(photo, resize, [{ format: { format: 'webp', lossless: true, maxBytes: 1000 }, key: 'x' }]),
    );
    for (const result of [png, lossless]) {
      assert.equal(result.ok, false);
      if (!result.ok) {
        assert.deepEqual(
          result.error.map((i) => [i.path, i.code]),
          [['/outputs/0/transformUnits/0/maxBytes', 'option_not_for_format']],
        );
      }
    }
  });
});
