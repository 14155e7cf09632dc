/** Text overlays: drawn by Pango in the installed fonts, placed like watermarks, composed in order. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { validateGraph, type Operation } from '../../../src/core/graph/index.js';
import { compilePlan } from '../../../src/core/imaging/plan.js';
import { MemoryStore } from '../../support/memory-store.js';
import { graphOf, inBucket, pixelAt, pixelsOf, render, type Pixels } from './helpers.js';

const store = new MemoryStore();
const dark = { r: 32, g: 32, b: 32 };

before(async () => {
  const canvas = { width: 400, height: 200, channels: 3 as const, background: dark };
  store.seed(inBucket, 'dark.png', await sharp({ create: canvas }).png().toBuffer());
});

async function drawn(ops: Operation[]): Promise<Pixels> {
  return pixelsOf((await render(store, 'dark.png', ops, { format: 'png' })).data);
}

/** Pixels of a region that differ from the dark canvas, and the brightest red, green and blue among them. */
function inked(p: Pixels, x0: number, y0: number, x1: number, y1: number) {
  let count = 0;
  const max = [0, 0, 0];
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const [r, g, b] = pixelAt(p, x, y);
      if (r !== dark.r || g !== dark.g || b !== dark.b) count++;
      max[0] = Math.max(max[0]!, r!);
      max[1] = Math.max(max[1]!, g!);
      max[2] = Math.max(max[2]!, b!);
    }
  }
  return { count, max };
}

describe('Text', () => {
  it('when text is drawn with the defaults, then white text appears in the bottom-right corner only', async () => {
    const p = await drawn([{ type: 'Text', text: 'pixelshift' }]);
    const corner = inked(p, 200, 100, 400, 200);
    assert.ok(corner.count > 200, `${corner.count} inked pixels bottom right`);
    assert.deepEqual(corner.max, [255, 255, 255]);
    assert.equal(inked(p, 0, 0, 200, 100).count, 0, 'nothing top left');
  });

  it('when the colour has alpha, then the text is blended onto the image', async () => {
    const p = await drawn([{ type: 'Text', text: 'IIII', size: 60, color: '#ff000080', gravity: 'center' }]);
    const { max } = inked(p, 100, 50, 300, 150);
    assert.ok(Math.abs(max[0]! - Math.round(255 * 0.5 + dark.r * 0.5)) <= 3, `red ${max[0]}`);
    assert.ok(max[1]! <= dark.g + 1, `green ${max[1]}`);
  });

  it('when a background and padding are given, then a box of that colour surrounds the text', async () => {
    const p = await drawn([
      { type: 'Text', text: 'box', background: '#0000ff', padding: 10, left: 20, top: 30 },
    ]);
    assert.deepEqual(pixelAt(p, 21, 31).slice(0, 3), [0, 0, 255], 'inside the padding');
    assert.deepEqual(pixelAt(p, 19, 29).slice(0, 3), [dark.r, dark.g, dark.b], 'outside the box');
  });

  it('when a wrapping width is given, then a long text wraps onto several lines within it', async () => {
    const text = 'one two three four five six seven eight';
    const wrapped = await drawn([{ type: 'Text', text, size: 20, width: 150, left: 0, top: 0, padding: 0 }]);
    const rows = (p: Pixels) => {
      let last = 0;
      for (let y = 0; y < p.height; y++) if (inked(p, 0, y, p.width, y + 1).count > 0) last = y;
      return last;
    };
    assert.equal(inked(wrapped, 150, 0, 400, 200).count, 0, 'nothing right of the wrapping width');
    assert.ok(rows(wrapped) > 40, `text reaches row ${rows(wrapped)}: more than one line`);
  });

  it('when several overlays are in one chain, then they are drawn in order, each over the one before', async () => {
    const ops: Operation[] = [
      { type: 'Text', text: 'MMMM', size: 80, color: '#ff0000', left: 0, top: 0 },
      { type: 'Text', text: 'MMMM', size: 80, color: '#00ff00', left: 0, top: 0 },
      { type: 'Text', text: 'second', gravity: 'southwest' },
    ];
    const p = await drawn(ops);
    let green = 0;
    let red = 0;
    for (let y = 0; y < 100; y++) {
      for (let x = 0; x < 200; x++) {
        const [r, g] = pixelAt(p, x, y);
        if (g === 255 && r! < 10) green++;
        if (r === 255 && g! < 10) red++;
      }
    }
    assert.ok(green > 100 && red === 0, `${green} pure green and ${red} pure red pixels: green is on top`);
    assert.ok(inked(p, 0, 150, 200, 200).count > 0, 'the third overlay is there too');
    // sharp composites once per pipeline: the compiler gives each overlay its own stage.
    const plan = compilePlan(graphOf('dark.png', ops, [{ format: { format: 'png' }, key: 'x' }]));
    assert.equal(plan.root.ops.length, 1);
  });

  it('when the graph gives a Text an unknown field or no text, then it is refused up front', () => {
    for (const text of [
      { type: 'Text', text: 'a', shadow: true },
      { type: 'Text', text: '' },
    ]) {
      const result = validateGraph(
        graphOf('dark.png', [text as unknown as Operation], [{ format: { format: 'png' }, key: 'x' }]),
      );
      assert.equal(result.ok, false, JSON.stringify(text));
    }
  });
});
