/**
 * The stage compiler's promise, checked with sharp: grouping operations into one pipeline never changes
 * the picture. Each chain is run once as a graph, and once operation by operation (each a graph of its
 * own, handing over a lossless PNG); both must give the same pixels.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import type { Operation } from '../../../src/core/graph/index.js';
import { compilePlan, type PlanNode } from '../../../src/core/imaging/index.js';
import { fixtureStore, graphOf, inBucket, meanAbsDiff, pixelsOf, render } from './helpers.js';

const store = fixtureStore();
const photo = 'tiff-rgb-uncompressed.tif'; // lossless 8-bit RGB: no shrink-on-load, no decode noise

function stageCount(node: PlanNode): number {
  return node.kind === 'output'
    ? 0
    : (node.ops.length ? 1 : 0) + node.children.reduce((n, c) => n + stageCount(c), 0);
}

async function stepByStep(file: string, ops: Operation[]): Promise<Buffer> {
  let current = file;
  let data: Buffer = Buffer.alloc(0);
  for (const [index, op] of ops.entries()) {
    data = (await render(store, current, [op], { format: 'png' })).data;
    current = `steps/${Math.random().toString(36).slice(2)}-${index}.png`;
    store.seed(inBucket, current, data);
  }
  return data;
}

const cases: { name: string; stages: number; ops: Operation[]; file?: string }[] = [
  {
    name: 'resize, greyscale, resize',
    stages: 2,
    ops: [{ type: 'Resize', width: 200 }, { type: 'Grayscale' }, { type: 'Resize', width: 100 }],
  },
  {
    name: 'crop, resize, crop',
    stages: 1,
    ops: [
      { type: 'Crop', left: 10, top: 10, width: 200, height: 300 },
      { type: 'Resize', width: 120 },
      { type: 'Crop', left: 5, top: 5, width: 100, height: 100 },
    ],
  },
  {
    name: 'rotate 90, cover resize from the north, free rotate',
    stages: 2,
    ops: [
      { type: 'Rotate', angle: 90 },
      { type: 'Resize', width: 100, height: 80, fit: 'cover', position: 'north' },
      { type: 'Rotate', angle: 30, background: '#336699' },
    ],
  },
  {
    name: 'flip, then a cover resize from the north',
    stages: 1,
    ops: [{ type: 'Flip' }, { type: 'Resize', width: 100, height: 100, fit: 'cover', position: 'north' }],
  },
  {
    name: 'rotate 270, then crop',
    stages: 1,
    ops: [
      { type: 'Rotate', angle: 270 },
      { type: 'Crop', left: 0, top: 0, width: 120, height: 50 },
    ],
  },
  {
    name: 'rotate 90 then flip',
    stages: 2,
    ops: [{ type: 'Rotate', angle: 90 }, { type: 'Flip' }],
  },
  {
    name: 'flop then crop',
    stages: 2,
    ops: [{ type: 'Flop' }, { type: 'Crop', left: 0, top: 0, width: 60, height: 60 }],
  },
  {
    name: 'free rotate then greyscale',
    stages: 2,
    ops: [{ type: 'Rotate', angle: 20, background: '#ff0000' }, { type: 'Grayscale' }],
  },
  {
    name: 'greyscale, resize, extend, median, blur, sharpen, linear, then tint and negate',
    stages: 2,
    ops: [
      { type: 'Grayscale' },
      { type: 'Resize', width: 120 },
      { type: 'Extend', top: 4, left: 4, background: '#808080' },
      { type: 'Median', size: 3 },
      { type: 'Blur', sigma: 1 },
      { type: 'Sharpen', sigma: 1 },
      { type: 'Linear', a: 1.2, b: -10 },
      { type: 'Tint', color: '#cc8844' },
      { type: 'Negate' },
    ],
  },
  {
    name: 'greyscale, then a red border',
    stages: 2,
    ops: [{ type: 'Grayscale' }, { type: 'Extend', top: 3, background: '#ff0000' }],
  },
  {
    name: 'greyscale, then a grey border',
    stages: 1,
    ops: [{ type: 'Grayscale' }, { type: 'Extend', top: 3, background: '#404040' }],
  },
  {
    name: 'a greyscale stage handing a transparent image to the next one',
    stages: 2,
    file: 'png-rgba-alpha.png',
    ops: [{ type: 'Grayscale' }, { type: 'Resize', width: 100 }, { type: 'Flip' }],
  },
];

describe('stages keep the meaning of the chain', () => {
  for (const testCase of cases) {
    it(`when ${testCase.name} runs as ${testCase.stages} stage(s), then the pixels equal running each operation alone`, async () => {
      const file = testCase.file ?? photo;
      const plan = compilePlan(graphOf(file, testCase.ops, [{ format: { format: 'png' }, key: 'x.png' }]));
      assert.equal(stageCount(plan.root), testCase.stages);
      const together = await pixelsOf(sharp((await render(store, file, testCase.ops)).data));
      const alone = await pixelsOf(sharp(await stepByStep(file, testCase.ops)));
      assert.deepEqual(
        [together.width, together.height, together.channels],
        [alone.width, alone.height, alone.channels],
      );
      // 8-bit rounding between separate runs may move a value by one here and there.
      const diff = meanAbsDiff(together.data, alone.data);
      assert.ok(diff < 1, `mean difference ${diff.toFixed(3)}`);
    });
  }
});
