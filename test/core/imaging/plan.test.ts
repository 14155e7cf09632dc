import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Operation, TransformGraph, TransformUnit } from '../../../src/core/graph/index.js';
import { validateGraph } from '../../../src/core/graph/index.js';
import { compilePlan, refusal, type Plan, type PlanNode } from '../../../src/core/imaging/index.js';

const source = { type: 'StorageSource', bucket: 'in', key: 'cat.jpg' } as const;
const png = { type: 'ImageFormat', format: 'png' } as const;
const sink = { type: 'StorageSink', bucket: 'out', key: 'cat.png' } as const;

/** A single chain: source, the operations, png, sink. */
function chain(...ops: Operation[]): TransformGraph {
  return { transformUnits: [source, ...ops, png, sink] };
}

function compileValid(graph: TransformGraph): Plan {
  const validation = validateGraph(graph);
  assert.ok(validation.ok, JSON.stringify(!validation.ok && validation.error));
  return compilePlan(graph);
}

const chainSource = {
  unit: '/transformUnits/0',
  connection: 'default',
  bucket: 'in',
  key: 'cat.jpg',
  autoOrient: true,
};

/** The output of `chain(...)` whose operations are units 1..n. */
function chainOutput(n: number): PlanNode {
  return {
    kind: 'output',
    id: 'o1',
    format: { unit: `/transformUnits/${n + 1}`, spec: png },
    sink: { unit: `/transformUnits/${n + 2}`, connection: 'default', spec: sink },
  };
}

/** Stage outline for readable assertions: "s1[Resize:resize]>s2[...]". */
function outline(node: PlanNode): string {
  if (node.kind === 'output') return node.id;
  const own = `${node.id}${node.joinsParent ? '*' : ''}[${node.ops.map((o) => `${o.op.type}:${o.slot}`).join(',')}]`;
  const children = node.children.map(outline);
  return children.length === 1 ? `${own}>${children[0]}` : `${own}>(${children.join('|')})`;
}

describe('plan compiler', () => {
  it('when the docs/architecture.md §3 example compiles, then the shared resize is one stage with two leaves below it', () => {
    const graph: TransformGraph = {
      transformUnits: [
        { type: 'StorageSource', bucket: 'photos', key: 'in/cat.jpg' },
        { type: 'Resize', width: 1600, fit: 'inside' },
      ],
      outputs: [
        {
          transformUnits: [
            { type: 'ImageFormat', format: 'webp', quality: 80 },
            { type: 'StorageSink', bucket: 'photos', key: 'out/cat-1600.webp' },
          ],
        },
        {
          transformUnits: [
            { type: 'Resize', width: 320, height: 320, fit: 'cover', position: 'attention' },
            { type: 'ImageFormat', format: 'jpeg', quality: 82 },
            { type: 'StorageSink', bucket: 'photos', key: 'out/cat-thumb.jpg' },
          ],
        },
      ],
    };
    assert.deepEqual(compileValid(graph), {
      source: {
        unit: '/transformUnits/0',
        connection: 'default',
        bucket: 'photos',
        key: 'in/cat.jpg',
        autoOrient: true,
      },
      root: {
        kind: 'stage',
        id: 's1',
        ops: [
          { unit: '/transformUnits/1', slot: 'resize', op: { type: 'Resize', width: 1600, fit: 'inside' } },
        ],
        joinsParent: false,
        children: [
          {
            kind: 'output',
            id: 'o1',
            format: {
              unit: '/outputs/0/transformUnits/0',
              spec: { type: 'ImageFormat', format: 'webp', quality: 80 },
            },
            sink: {
              unit: '/outputs/0/transformUnits/1',
              connection: 'default',
              spec: { type: 'StorageSink', bucket: 'photos', key: 'out/cat-1600.webp' },
            },
          },
          {
            kind: 'stage',
            id: 's2',
            ops: [
              {
                unit: '/outputs/1/transformUnits/0',
                slot: 'resize',
                op: { type: 'Resize', width: 320, height: 320, fit: 'cover', position: 'attention' },
              },
            ],
            // A second resize: sharp keeps only the last one, so it cannot share the parent's pipeline.
            joinsParent: false,
            children: [
              {
                kind: 'output',
                id: 'o2',
                format: {
                  unit: '/outputs/1/transformUnits/1',
                  spec: { type: 'ImageFormat', format: 'jpeg', quality: 82 },
                },
                sink: {
                  unit: '/outputs/1/transformUnits/2',
                  connection: 'default',
                  spec: { type: 'StorageSink', bucket: 'photos', key: 'out/cat-thumb.jpg' },
                },
              },
            ],
          },
        ],
      },
      outputCount: 2,
    });
  });

  it('when resize, greyscale and resize follow each other, then the second resize starts a stage that also takes the greyscale', () => {
    const resize = { type: 'Resize', width: 800 } as const;
    const grey = { type: 'Grayscale' } as const;
    const small = { type: 'Resize', width: 200 } as const;
    assert.deepEqual(compileValid(chain(resize, grey, small)), {
      source: chainSource,
      root: {
        kind: 'stage',
        id: 's1',
        ops: [{ unit: '/transformUnits/1', slot: 'resize', op: resize }],
        joinsParent: false,
        children: [
          {
            kind: 'stage',
            id: 's2',
            ops: [
              { unit: '/transformUnits/2', slot: 'greyscale', op: grey },
              { unit: '/transformUnits/3', slot: 'resize', op: small },
            ],
            joinsParent: false,
            children: [chainOutput(3)],
          },
        ],
      },
      outputCount: 1,
    });
  });

  it('when a blur follows a watermark, then the blur gets its own stage (sharp blurs before compositing)', () => {
    const watermark = { type: 'Watermark', bucket: 'in', key: 'logo.png', opacity: 0.5 } as const;
    const blur = { type: 'Blur', sigma: 2 } as const;
    assert.deepEqual(compileValid(chain(watermark, blur)), {
      source: chainSource,
      root: {
        kind: 'stage',
        id: 's1',
        ops: [{ unit: '/transformUnits/1', slot: 'composite', op: watermark }],
        joinsParent: false,
        children: [
          {
            kind: 'stage',
            id: 's2',
            ops: [{ unit: '/transformUnits/2', slot: 'blur', op: blur }],
            joinsParent: false,
            children: [chainOutput(2)],
          },
        ],
      },
      outputCount: 1,
    });
  });

  it('when rotate, resize and rotate follow each other, then the first two share a stage and the second rotate starts one', () => {
    const rotate = { type: 'Rotate', angle: 90 } as const;
    const resize = { type: 'Resize', width: 300, height: 200 } as const;
    const again = { type: 'Rotate', angle: -45, background: '#ffffff' } as const;
    assert.deepEqual(compileValid(chain(rotate, resize, again)), {
      source: chainSource,
      root: {
        kind: 'stage',
        id: 's1',
        ops: [
          { unit: '/transformUnits/1', slot: 'rotate', op: rotate },
          { unit: '/transformUnits/2', slot: 'resize', op: resize },
        ],
        joinsParent: false,
        children: [
          {
            kind: 'stage',
            id: 's2',
            ops: [{ unit: '/transformUnits/3', slot: 'rotate', op: again }],
            joinsParent: false,
            children: [chainOutput(3)],
          },
        ],
      },
      outputCount: 1,
    });
  });

  it('when crop, resize and crop follow each other, then one stage uses the pre- and post-resize extracts', () => {
    const crop = { type: 'Crop', left: 10, top: 10, width: 1000, height: 800 } as const;
    const resize = { type: 'Resize', width: 500 } as const;
    const crop2 = { type: 'Crop', left: 0, top: 0, width: 100, height: 100 } as const;
    assert.deepEqual(compileValid(chain(crop, resize, crop2)), {
      source: chainSource,
      root: {
        kind: 'stage',
        id: 's1',
        ops: [
          { unit: '/transformUnits/1', slot: 'extractPre', op: crop },
          { unit: '/transformUnits/2', slot: 'resize', op: resize },
          { unit: '/transformUnits/3', slot: 'extractPost', op: crop2 },
        ],
        joinsParent: false,
        children: [chainOutput(3)],
      },
      outputCount: 1,
    });
  });

  it('when a graph has five sinks below an operation-free root, then each branch is a stage that could re-decode', () => {
    const widths = [1600, 1200, 800, 400, 160];
    const graph: TransformGraph = {
      transformUnits: [source],
      outputs: widths.map((width) => ({
        transformUnits: [
          { type: 'Resize', width },
          { type: 'ImageFormat', format: 'webp' },
          { type: 'StorageSink', bucket: 'out', key: `cat-${width}.webp` },
        ],
      })),
    };
    assert.deepEqual(compileValid(graph), {
      source: chainSource,
      root: {
        kind: 'stage',
        id: 's1',
        ops: [],
        joinsParent: false,
        children: widths.map((width, index) => ({
          kind: 'stage',
          id: `s${index + 2}`,
          ops: [
            { unit: `/outputs/${index}/transformUnits/0`, slot: 'resize', op: { type: 'Resize', width } },
          ],
          joinsParent: true,
          children: [
            {
              kind: 'output',
              id: `o${index + 1}`,
              format: {
                unit: `/outputs/${index}/transformUnits/1`,
                spec: { type: 'ImageFormat', format: 'webp' },
              },
              sink: {
                unit: `/outputs/${index}/transformUnits/2`,
                connection: 'default',
                spec: { type: 'StorageSink', bucket: 'out', key: `cat-${width}.webp` },
              },
            },
          ],
        })),
      },
      outputCount: 5,
    });
  });

  it('when outputs nest, then each branch continues below the stage its parent ended in', () => {
    const graph: TransformGraph = {
      transformUnits: [source, { type: 'Grayscale' }],
      outputs: [
        {
          transformUnits: [{ type: 'Resize', width: 100 }],
          outputs: [
            { transformUnits: [png, { ...sink, key: 'a.png' }] },
            { transformUnits: [{ type: 'Blur' }, png, { ...sink, key: 'b.png' }] },
          ],
        },
        { transformUnits: [{ type: 'Flip' }, png, { ...sink, key: 'c.png' }] },
      ],
    };
    assert.equal(
      outline(compileValid(graph).root),
      's1[Grayscale:greyscale]>(s2*[Resize:resize]>(o1|s3*[Blur:blur]>o2)|s4[Flip:flip]>o3)',
    );
  });

  it('when a branch has no operations of its own but has outputs, then they hang below the parent stage', () => {
    const graph: TransformGraph = {
      transformUnits: [source, { type: 'Resize', width: 100 }],
      outputs: [
        {
          transformUnits: [],
          outputs: [
            { transformUnits: [png, { ...sink, key: 'a.png' }] },
            {
              transformUnits: [
                { type: 'ImageFormat', format: 'gif' },
                { ...sink, key: 'a.gif' },
              ],
            },
          ],
        },
      ],
    };
    assert.equal(outline(compileValid(graph).root), 's1[Resize:resize]>(o1|o2)');
  });

  describe('sharp-order rules', () => {
    const cases: { name: string; ops: Operation[]; outline: string }[] = [
      {
        name: 'a flip after a rotate starts a stage (sharp mirrors before rotating)',
        ops: [{ type: 'Rotate', angle: 90 }, { type: 'Flip' }],
        outline: 's1[Rotate:rotate]>s2[Flip:flip]>o1',
      },
      {
        name: 'flip and flop share a stage (they commute)',
        ops: [{ type: 'Flop' }, { type: 'Flip' }],
        outline: 's1[Flop:flop,Flip:flip]>o1',
      },
      {
        name: 'a flip before a crop starts a stage (without a rotation sharp crops first)',
        ops: [{ type: 'Flip' }, { type: 'Crop', left: 0, top: 0, width: 10, height: 10 }],
        outline: 's1[Flip:flip]>s2[Crop:extractPre]>o1',
      },
      {
        name: 'greyscale after a free rotation starts a stage (sharp could greyscale first)',
        ops: [{ type: 'Rotate', angle: 30 }, { type: 'Grayscale' }],
        outline: 's1[Rotate:rotate]>s2[Grayscale:greyscale]>o1',
      },
      {
        name: 'greyscale after a right-angle rotation shares the stage (it commutes)',
        ops: [{ type: 'Rotate', angle: 270 }, { type: 'Grayscale' }],
        outline: 's1[Rotate:rotate,Grayscale:greyscale]>o1',
      },
      {
        name: 'a gamma-correct resize shares a stage, a blur inside the gamma window does not',
        ops: [{ type: 'Gamma' }, { type: 'Resize', width: 50 }, { type: 'Blur' }, { type: 'Linear', a: 2 }],
        outline: 's1[Gamma:gamma,Resize:resize]>s2[Blur:blur,Linear:linear]>o1',
      },
      {
        name: 'a fractional crop after a resize starts a stage (its size is known only at a stage start)',
        ops: [
          { type: 'Resize', width: 50 },
          { type: 'Crop', unit: 'fraction', left: 0.1, top: 0.1, width: 0.5, height: 0.5 },
        ],
        outline: 's1[Resize:resize]>s2[Crop:extractPre]>o1',
      },
      {
        name: 'a pixel crop after a resize shares the stage as the post-resize extract',
        ops: [
          { type: 'Resize', width: 50 },
          { type: 'Crop', left: 1, top: 1, width: 5, height: 5 },
        ],
        outline: 's1[Resize:resize,Crop:extractPost]>o1',
      },
      {
        name: 'a watermark after an extend starts a stage (its scale needs the size)',
        ops: [
          { type: 'Extend', top: 10 },
          { type: 'Watermark', bucket: 'in', key: 'logo.png' },
        ],
        outline: 's1[Extend:extend]>s2[Watermark:composite]>o1',
      },
      {
        name: 'a smart crop uses the resize slot, so a later resize starts a stage',
        ops: [
          { type: 'AutoCrop', mode: 'smart', width: 100, height: 100 },
          { type: 'Resize', width: 50 },
        ],
        outline: 's1[AutoCrop:resize]>s2[Resize:resize]>o1',
      },
      {
        name: 'trim, crop, resize, extend, sharpen and negate fit one stage in that order',
        ops: [
          { type: 'AutoCrop', mode: 'trim' },
          { type: 'Crop', left: 0, top: 0, width: 10, height: 10 },
          { type: 'Resize', width: 5 },
          { type: 'Extend', left: 1 },
          { type: 'Sharpen' },
          { type: 'Negate' },
        ],
        outline:
          's1[AutoCrop:trim,Crop:extractPre,Resize:resize,Extend:extend,Sharpen:sharpen,Negate:negate]>o1',
      },
      {
        name: 'a tint after greyscale starts a stage (sharp would map it back to grey)',
        ops: [{ type: 'Grayscale' }, { type: 'Linear', a: 2 }, { type: 'Tint', color: '#884400' }],
        outline: 's1[Grayscale:greyscale,Linear:linear]>s2[Tint:tint]>o1',
      },
      {
        name: 'negate then tint starts a stage (sharp negates last)',
        ops: [{ type: 'Negate' }, { type: 'Tint', color: '#ff0000' }],
        outline: 's1[Negate:negate]>s2[Tint:tint]>o1',
      },
    ];
    for (const testCase of cases) {
      it(`when ${testCase.name}`, () => {
        assert.equal(outline(compileValid(chain(...testCase.ops)).root), testCase.outline);
      });
    }

    it('when a rule refuses an operation, then it names why', () => {
      const staged = (op: Operation) => [{ slot: 'rotate' as const, op }];
      assert.equal(refusal(staged({ type: 'Rotate', angle: 90 }), { type: 'Rotate', angle: 90 }), 'repeated');
      assert.equal(refusal(staged({ type: 'Rotate', angle: 90 }), { type: 'Flop' }), 'mirrorAfterRotate');
      assert.equal(
        refusal(staged({ type: 'Rotate', angle: 10 }), { type: 'Flatten' }),
        'colourAfterFreeRotate',
      );
      assert.equal(refusal([{ slot: 'blur', op: { type: 'Blur' } }], { type: 'Grayscale' }), 'reordered');
      assert.equal(refusal([{ slot: 'gamma', op: { type: 'Gamma' } }], { type: 'Grayscale' }), 'insideGamma');
      assert.equal(
        refusal([{ slot: 'greyscale', op: { type: 'Grayscale' } }], {
          type: 'Extend',
          background: '#ff0000',
        }),
        'colourAfterGrey',
      );
      assert.equal(
        refusal([{ slot: 'extend', op: { type: 'Extend' } }], { type: 'Watermark', bucket: 'a', key: 'b' }),
        'needsKnownSize',
      );
    });
  });

  describe('orientation', () => {
    it('when AutoOrient opens the root chain of a source that says autoOrient false, then the decoder orients', () => {
      const graph: TransformGraph = {
        transformUnits: [
          { ...source, autoOrient: false },
          { type: 'AutoOrient' },
          { type: 'Blur' },
          png,
          sink,
        ],
      };
      const plan = compileValid(graph);
      assert.equal(plan.source.autoOrient, true);
      assert.equal(outline(plan.root), 's1[Blur:blur]>o1');
    });

    it('when the source is already upright, then a later AutoOrient is dropped as a no-op', () => {
      assert.equal(
        outline(compileValid(chain({ type: 'Blur' }, { type: 'AutoOrient' })).root),
        's1[Blur:blur]>o1',
      );
    });

    it('when the source says autoOrient false and AutoOrient comes later, then it starts a stage and stays there', () => {
      const graph: TransformGraph = {
        transformUnits: [
          { ...source, autoOrient: false },
          { type: 'Grayscale' },
          { type: 'AutoOrient' },
          { type: 'Flip' },
          png,
          sink,
        ],
      };
      const plan = compileValid(graph);
      assert.equal(plan.source.autoOrient, false);
      assert.equal(outline(plan.root), 's1[Grayscale:greyscale]>s2[AutoOrient:orient]>s3[Flip:flip]>o1');
    });
  });

  it('when a plan is compiled, then it is plain JSON data that survives a round trip', () => {
    const units: TransformUnit[] = [
      { ...source, versionId: 'v1', page: 2, storage: 'archive' },
      { type: 'Resize', width: 10 },
      { type: 'ImageFormat', format: 'tiff', compression: 'lzw' },
      { type: 'StorageSink', storage: 'cdn', bucket: 'out', key: 'x.tif', cacheControl: 'max-age=60' },
    ];
    const plan = compileValid({ transformUnits: units });
    assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan);
    assert.deepEqual(plan.source, {
      unit: '/transformUnits/0',
      connection: 'archive',
      bucket: 'in',
      key: 'cat.jpg',
      versionId: 'v1',
      autoOrient: true,
      page: 2,
    });
    const output = plan.root.children[0];
    assert.equal(output?.kind === 'output' && output.sink.connection, 'cdn');
  });

  it('when the compiler and its order table are read, then neither imports sharp (they stay pure)', () => {
    for (const file of ['plan.ts', 'stage-order.ts']) {
      const text = readFileSync(new URL(`../../../src/core/imaging/${file}`, import.meta.url), 'utf8');
      assert.doesNotMatch(text, /from 'sharp'/, file);
    }
  });
});
