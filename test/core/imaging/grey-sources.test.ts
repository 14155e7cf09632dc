/**
 * A greyscale source keeps the colour an operation brings: sharp works in the source's grey colour space
 * unless told otherwise, and would flatten onto the luminance of a red background or fill rotated corners
 * with grey. One rule (`bringsColour`) decides both this and which operations may join a grey stage.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import type { Operation } from '../../../src/core/graph/index.js';
import { bringsColour } from '../../../src/core/imaging/colours.js';
import { fixtureStore, pixelAt, pixelsOf, render } from './helpers.js';

const store = fixtureStore();
/** 8-bit grey with alpha, stored as `b-w` without a profile; its top-left pixel is transparent. */
const greySource = 'png-grayscale-alpha-8bit.png';

const red = '#ff0000';
const paintingRed: { name: string; op: Operation }[] = [
  { name: 'Flatten onto red', op: { type: 'Flatten', background: red } },
  { name: 'Rotate by 30° over red', op: { type: 'Rotate', angle: 30, background: red } },
  { name: 'Extend with a red border', op: { type: 'Extend', top: 4, background: red } },
  {
    name: 'Resize contain with red bars',
    op: { type: 'Resize', width: 100, height: 50, fit: 'contain', background: red },
  },
];

describe('operations that bring colour to a greyscale source', () => {
  for (const { name, op } of paintingRed) {
    it(`when ${name} runs on a grey source, then the painted corner is red`, async () => {
      assert.equal(bringsColour(op), true);
      const pixels = await pixelsOf(sharp((await render(store, greySource, [op])).data));
      const [r, g, b] = pixelAt(pixels, 0, 0);
      assert.deepEqual([r, g, b], [255, 0, 0]);
    });
  }

  it('when the background is grey, then the operation brings no colour and the corner is that grey', async () => {
    const op: Operation = { type: 'Rotate', angle: 30, background: '#808080' };
    assert.equal(bringsColour(op), false);
    const pixels = await pixelsOf(sharp((await render(store, greySource, [op])).data));
    const [r, g, b] = pixelAt(pixels, 0, 0);
    assert.deepEqual([r, g, b], [128, 128, 128]);
  });
});
