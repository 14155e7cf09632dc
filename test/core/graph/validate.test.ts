import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  limits,
  parseJson,
  validateBatch,
  validateGraph,
  type ValidationIssue,
} from '../../../src/core/graph/index.js';

const source = { type: 'StorageSource', bucket: 'photos', key: 'in/cat.jpg' };
const webp = { type: 'ImageFormat', format: 'webp' };
const sink = (key: string) => ({ type: 'StorageSink', bucket: 'photos', key });
const resize = { type: 'Resize', width: 100 };
/** source → resize → the given tail */
const chain = (...tail: unknown[]) => ({ transformUnits: [source, resize, ...tail] });

function issuesOf(input: unknown): ValidationIssue[] {
  const result = validateGraph(input);
  assert.equal(result.ok, false, 'expected the graph to be refused');
  return result.ok ? [] : result.error;
}

describe('graph validation', () => {
  test('when the architecture example graph is validated, then it is accepted', () => {
    const graph = {
      transformUnits: [source, { type: 'Resize', width: 1600, fit: 'inside' }],
      outputs: [
        { transformUnits: [{ type: 'ImageFormat', format: 'webp', quality: 80 }, sink('out/cat-1600.webp')] },
        {
          transformUnits: [
            { type: 'Resize', width: 320, height: 320, fit: 'cover', position: 'attention' },
            { type: 'ImageFormat', format: 'jpeg', quality: 82 },
            sink('out/cat-thumb.jpg'),
          ],
        },
      ],
    };
    assert.deepEqual(validateGraph(graph), { ok: true, value: graph });
  });

  test('when an output has no units of its own and only branches again, then it is accepted', () => {
    const graph = {
      transformUnits: [source, resize],
      outputs: [
        {
          transformUnits: [],
          outputs: [{ transformUnits: [webp, sink('a.webp')] }, { transformUnits: [webp, sink('b.webp')] }],
        },
      ],
    };
    assert.deepEqual(validateGraph(graph), { ok: true, value: graph });
  });

  // Each case: input → the exact issues (pointer, code, message) a client sees.
  const refused: [string, unknown, ValidationIssue[]][] = [
    [
      'when the first unit is not a source, then missing_source points at it',
      { transformUnits: [resize, webp, sink('a')] },
      [
        {
          path: '/transformUnits/0',
          code: 'missing_source',
          message: 'Expected a StorageSource for the first unit of the graph but received Resize',
        },
      ],
    ],
    [
      'when the root has no units, then missing_source points at where its first unit belongs',
      { transformUnits: [], outputs: [{ transformUnits: [resize, webp, sink('a')] }] },
      [
        {
          path: '/transformUnits/0',
          code: 'missing_source',
          message: 'Expected a StorageSource for the first unit of the graph but received nothing',
        },
      ],
    ],
    [
      'when a source appears inside an output, then misplaced_source points at it',
      { transformUnits: [source, resize], outputs: [{ transformUnits: [source, webp, sink('a')] }] },
      [
        {
          path: '/outputs/0/transformUnits/0',
          code: 'misplaced_source',
          message:
            'Expected a StorageSource only as the first unit of the graph for unit 0 but received a StorageSource',
        },
      ],
    ],
    [
      'when a chain has no operation, then missing_operation points at its format',
      { transformUnits: [source, webp, sink('a')] },
      [
        {
          path: '/transformUnits/1',
          code: 'missing_operation',
          message: 'Expected at least one operation before the ImageFormat for the chain but received none',
        },
      ],
    ],
    [
      'when a sink has no format before it, then missing_format points at the sink',
      chain(sink('a')),
      [
        {
          path: '/transformUnits/2',
          code: 'missing_format',
          message: 'Expected an ImageFormat right before the StorageSink for unit 2 but received Resize',
        },
      ],
    ],
    [
      'when a chain ends with a format, then missing_sink points past the end',
      chain(webp),
      [
        {
          path: '/transformUnits/3',
          code: 'missing_sink',
          message: 'Expected a StorageSink right after the ImageFormat for unit 3 but received nothing',
        },
      ],
    ],
    [
      'when an operation follows the format, then missing_sink points at it',
      chain(webp, { type: 'Blur' }),
      [
        {
          path: '/transformUnits/3',
          code: 'missing_sink',
          message: 'Expected a StorageSink right after the ImageFormat for unit 3 but received Blur',
        },
      ],
    ],
    [
      'when a unit follows the sink, then misplaced_sink points at it',
      chain(webp, sink('a'), { type: 'Blur' }),
      [
        {
          path: '/transformUnits/4',
          code: 'misplaced_sink',
          message: 'Expected nothing after the StorageSink for unit 4 but received Blur',
        },
      ],
    ],
    [
      'when outputs follow a sink, then misplaced_format points at the outputs',
      { ...chain(webp, sink('a')), outputs: [{ transformUnits: [webp, sink('b')] }] },
      [
        {
          path: '/outputs',
          code: 'misplaced_format',
          message:
            'Expected no outputs after an ImageFormat and StorageSink for outputs but received 1 output',
        },
      ],
    ],
    [
      'when a leaf output ends without format and sink, then missing_format points past its end',
      { transformUnits: [source, resize], outputs: [{ transformUnits: [{ type: 'Blur' }] }] },
      [
        {
          path: '/outputs/0/transformUnits/1',
          code: 'missing_format',
          message:
            'Expected an ImageFormat and a StorageSink at the end of the chain for unit 1 but received nothing',
        },
      ],
    ],
    [
      'when a graph has six sinks, then too_many_sinks points at the sixth',
      {
        transformUnits: [source, resize],
        outputs: [1, 2, 3, 4, 5, 6].map((i) => ({ transformUnits: [webp, sink(`k${i}`)] })),
      },
      [
        {
          path: '/outputs/5/transformUnits/1',
          code: 'too_many_sinks',
          message: 'Expected at most 5 StorageSinks for the graph but received sink number 6',
        },
      ],
    ],
    [
      'when two sinks write the same key, then duplicate_sink points at the second',
      {
        transformUnits: [source, resize],
        outputs: [1, 1].map((i) => ({ transformUnits: [webp, sink(`k${i}`)] })),
      },
      [
        {
          path: '/outputs/1/transformUnits/1',
          code: 'duplicate_sink',
          message: 'Expected a bucket and key no other sink of this graph writes for key but received "k1"',
        },
      ],
    ],
    [
      'when a unit type is unknown, then unknown_unit_type points at its type',
      chain({ type: 'Explode' }, webp, sink('a')),
      [
        {
          path: '/transformUnits/2/type',
          code: 'unknown_unit_type',
          message: 'Expected a known unit type for type but received "Explode"',
        },
      ],
    ],
    [
      'when a unit has no type, then missing_field points at type',
      chain({ width: 3 }, webp, sink('a')),
      [
        {
          path: '/transformUnits/2/type',
          code: 'missing_field',
          message: 'Expected a unit type for type but received nothing',
        },
      ],
    ],
    [
      'when fields have wrong types, then each is listed',
      chain({ type: 'Resize', width: '100', height: 1.5 }, { ...webp, quality: 101 }, sink('a')),
      [
        {
          path: '/transformUnits/2/width',
          code: 'invalid_type',
          message: 'Expected a number for width but received "100"',
        },
        {
          path: '/transformUnits/2/height',
          code: 'invalid_type',
          message: 'Expected an integer for height but received 1.5',
        },
        {
          path: '/transformUnits/3/quality',
          code: 'out_of_range',
          message: 'Expected a number <= 100 for quality but received 101',
        },
      ],
    ],
    [
      'when a unit has an unknown field, then unknown_field names it',
      chain({ type: 'Blur', radius: 3 }, webp, sink('a')),
      [
        {
          path: '/transformUnits/2/radius',
          code: 'unknown_field',
          message: 'Expected a known field for Blur but received "radius"',
        },
      ],
    ],
    [
      'when a format gets an option of another format, then option_not_for_format names it',
      chain({ type: 'ImageFormat', format: 'webp', progressive: true, effort: 9 }, sink('a')),
      [
        {
          path: '/transformUnits/2/progressive',
          code: 'option_not_for_format',
          message: 'Expected an option that applies to webp for progressive but received true',
        },
        {
          path: '/transformUnits/2/effort',
          code: 'out_of_range',
          message: 'Expected an effort between 0 and 6 (webp) for effort but received 9',
        },
      ],
    ],
    [
      'when a resize has neither width nor height, then missing_field points at width',
      chain({ type: 'Resize' }, webp, sink('a')),
      [
        {
          path: '/transformUnits/2/width',
          code: 'missing_field',
          message: 'Expected a width or a height for Resize but received nothing',
        },
      ],
    ],
    [
      'when a resize asks for more pixels than the limit, then too_many_pixels',
      chain({ type: 'Resize', width: 16000, height: 16000 }, webp, sink('a')),
      [
        {
          path: '/transformUnits/2',
          code: 'too_many_pixels',
          message: 'Expected at most 100000000 pixels for Resize but received 16000×16000',
        },
      ],
    ],
    [
      'when a bucket and key are malformed, then both are listed',
      chain(webp, { type: 'StorageSink', bucket: 'Bad_Bucket', key: '' }),
      [
        {
          path: '/transformUnits/3/bucket',
          code: 'invalid_value',
          message:
            'Expected a bucket name of lower-case letters, digits, dots and hyphens for bucket but received "Bad_Bucket"',
        },
        {
          path: '/transformUnits/3/key',
          code: 'out_of_range',
          message: 'Expected at least 1 character for key but received ""',
        },
      ],
    ],
    [
      'when a key holds a control character, then it is refused',
      chain(webp, { type: 'StorageSink', bucket: 'b', key: 'a\nb' }),
      [
        {
          path: '/transformUnits/3/key',
          code: 'invalid_value',
          message: 'Expected a key without control characters for key but received "a\\nb"',
        },
      ],
    ],
    [
      'when a colour is a name, then invalid_value asks for hex',
      chain({ type: 'Tint', color: 'red' }, webp, sink('a')),
      [
        {
          path: '/transformUnits/2/color',
          code: 'invalid_value',
          message: 'Expected a colour as #rrggbb or #rrggbbaa for color but received "red"',
        },
      ],
    ],
    [
      'when a fractional crop overflows, then each overflow is listed',
      chain({ type: 'Crop', unit: 'fraction', left: 0.5, top: 0, width: 0.6, height: 2 }, webp, sink('a')),
      [
        {
          path: '/transformUnits/2/height',
          code: 'out_of_range',
          message: 'Expected a fraction between 0 and 1 for height but received 2',
        },
        {
          path: '/transformUnits/2/width',
          code: 'crop_outside_image',
          message: 'Expected left + width of at most 1 for width but received 0.6',
        },
        {
          path: '/transformUnits/2/height',
          code: 'crop_outside_image',
          message: 'Expected top + height of at most 1 for height but received 2',
        },
      ],
    ],
    [
      'when Normalize has its lower percentile at or above its upper, then inverted_percentiles',
      chain({ type: 'Normalize', lower: 60, upper: 40 }, webp, sink('a')),
      [
        {
          path: '/transformUnits/2/upper',
          code: 'inverted_percentiles',
          message: 'Expected a percentile above lower (60) for upper but received 40',
        },
      ],
    ],
    [
      'when sink metadata has a name outside its pattern, then invalid_value names the metadata rule',
      chain(webp, { ...sink('a'), metadata: { Bad_Name: 'x' } }),
      [
        {
          path: '/transformUnits/3/metadata/Bad_Name',
          code: 'invalid_value',
          message:
            'Expected a metadata name of 1 to 64 lower-case letters, digits and hyphens for metadata but received "Bad_Name"',
        },
      ],
    ],
    [
      'when sink metadata has more than 32 entries, then invalid_value says at most 32',
      chain(webp, {
        ...sink('a'),
        metadata: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`m${i}`, 'x'])),
      }),
      [
        {
          path: '/transformUnits/3/metadata',
          code: 'invalid_value',
          message: 'Expected at most 32 entries for metadata but received an object',
        },
      ],
    ],
    [
      'when a metadata value or a Cache-Control holds a control character, then invalid_value',
      chain(webp, { ...sink('a'), cacheControl: 'max-age=1\r\nx: y', metadata: { note: 'a\u0001' } }),
      [
        {
          path: '/transformUnits/3/cacheControl',
          code: 'invalid_value',
          message:
            'Expected a Cache-Control value without control characters for cacheControl but received "max-age=1\\r\\nx: y"',
        },
        {
          path: '/transformUnits/3/metadata/note',
          code: 'invalid_value',
          message: 'Expected a metadata value without control characters for note but received "a\\u0001"',
        },
      ],
    ],
    [
      'when a Text unit holds a NUL, then invalid_value (line breaks are fine)',
      chain({ type: 'Text', text: 'line one\nline\u0000two' }, webp, sink('a')),
      [
        {
          path: '/transformUnits/2/text',
          code: 'invalid_value',
          message: 'Expected text without NUL characters for text but received "line one\\nline\\u0000two"',
        },
      ],
    ],
    [
      'when a pixel crop is fractional, then invalid_type',
      chain({ type: 'Crop', left: 0.5, top: 0, width: 10, height: 10 }, webp, sink('a')),
      [
        {
          path: '/transformUnits/2/left',
          code: 'invalid_type',
          message: 'Expected an integer number of pixels for left but received 0.5',
        },
      ],
    ],
    [
      'when a smart crop has no size, then width and height are missing',
      chain({ type: 'AutoCrop', mode: 'smart' }, webp, sink('a')),
      [
        {
          path: '/transformUnits/2/width',
          code: 'missing_field',
          message: 'Expected a width for mode "smart" for width but received nothing',
        },
        {
          path: '/transformUnits/2/height',
          code: 'missing_field',
          message: 'Expected a height for mode "smart" for height but received nothing',
        },
      ],
    ],
    [
      'when the graph is not an object, then invalid_type at the root',
      42,
      [{ path: '', code: 'invalid_type', message: 'Expected an object for the graph but received 42' }],
    ],
    [
      'when transformUnits is not an array, then invalid_type',
      { transformUnits: 'Resize' },
      [
        {
          path: '/transformUnits',
          code: 'invalid_type',
          message: 'Expected an array for transformUnits but received "Resize"',
        },
      ],
    ],
  ];

  for (const [name, input, expected] of refused) {
    test(name, () => assert.deepEqual(issuesOf(input), expected));
  }

  test('when keys try prototype pollution, then they are unknown fields and nothing is polluted', () => {
    const hostile = JSON.parse(
      '{"transformUnits":[{"type":"StorageSource","bucket":"photos","key":"k","__proto__":{"admin":true}}],"constructor":{"prototype":{"x":1}}}',
    ) as unknown;
    assert.deepEqual(issuesOf(hostile), [
      {
        path: '/transformUnits/0/__proto__',
        code: 'unknown_field',
        message: 'Expected a known field for StorageSource but received "__proto__"',
      },
      {
        path: '/constructor',
        code: 'unknown_field',
        message: 'Expected a known field for the graph but received "constructor"',
      },
    ]);
    assert.equal(({} as Record<string, unknown>).admin, undefined);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  test('when outputs nest 10,000 levels deep, then too_deep is reported without recursing', () => {
    let deep: unknown = { transformUnits: [] };
    for (let i = 0; i < 10_000; i++) deep = { transformUnits: [], outputs: [deep] };
    const issues = issuesOf(deep);
    assert.equal(issues.length, 1);
    assert.equal(issues[0]!.code, 'too_deep');
    assert.equal(issues[0]!.path, '/outputs/0'.repeat(limits.maxDepth));
    assert.equal(
      issues[0]!.message,
      'Expected outputs nested at most 8 levels deep for outputs but received level 9 or deeper',
    );
  });

  test('when a graph has 10,000 units, then too_many_units is reported once', () => {
    const wide = { transformUnits: [source, ...Array.from({ length: 10_000 }, () => ({ type: 'Blur' }))] };
    assert.deepEqual(issuesOf(wide), [
      {
        path: '',
        code: 'too_many_units',
        message: 'Expected at most 200 units for the graph but received more than 200',
      },
    ]);
  });

  test('when a graph is at the depth limit, then it is accepted', () => {
    let node: Record<string, unknown> = { transformUnits: [webp, sink('leaf')] };
    for (let level = 1; level < limits.maxDepth - 1; level++)
      node = { transformUnits: [{ type: 'Flip' }], outputs: [node] };
    assert.equal(validateGraph({ transformUnits: [source, resize], outputs: [node] }).ok, true);
  });
});

describe('batch validation', () => {
  const good = chain(webp, sink('ok'));

  test('when a batch has 1000 graphs, then it is accepted', () => {
    assert.equal(validateBatch({ graphs: Array.from({ length: 1000 }, () => good) }).ok, true);
  });

  test('when a batch has 1001 graphs, then too_many_graphs and no graph is inspected', () => {
    const result = validateBatch({ graphs: Array.from({ length: 1001 }, () => ({})) });
    assert.deepEqual(result, {
      ok: false,
      error: [
        {
          path: '/graphs',
          code: 'too_many_graphs',
          message: 'Expected at most 1000 graphs for graphs but received an array of 1001',
        },
      ],
    });
  });

  test('when one graph of many is invalid, then its issues carry its index and the rest are not blamed', () => {
    const result = validateBatch({ graphs: [good, good, { transformUnits: [source, webp, sink('a')] }] });
    assert.deepEqual(result, {
      ok: false,
      error: [
        {
          path: '/graphs/2/transformUnits/1',
          code: 'missing_operation',
          message: 'Expected at least one operation before the ImageFormat for the chain but received none',
        },
      ],
    });
  });

  test('when the batch has unknown fields and a bad callback URL, then both are listed with the graph issues', () => {
    const result = validateBatch({
      graphs: [good, { transformUnits: 'x' }],
      callbackUrl: 'ftp://x',
      extra: 1,
    });
    assert.deepEqual(result.ok ? [] : result.error, [
      {
        path: '/callbackUrl',
        code: 'invalid_value',
        message: 'Expected an http or https URL for callbackUrl but received "ftp://x"',
      },
      {
        path: '/extra',
        code: 'unknown_field',
        message: 'Expected a known field for the batch but received "extra"',
      },
      {
        path: '/graphs/1/transformUnits',
        code: 'invalid_type',
        message: 'Expected an array for transformUnits but received "x"',
      },
    ]);
  });

  test('when the batch is empty or not an object, then it is refused with a precise code', () => {
    assert.deepEqual(validateBatch({ graphs: [] }), {
      ok: false,
      error: [
        {
          path: '/graphs',
          code: 'out_of_range',
          message: 'Expected at least 1 graph for graphs but received an array of 0',
        },
      ],
    });
    assert.deepEqual(validateBatch({}), {
      ok: false,
      error: [
        {
          path: '/graphs',
          code: 'missing_field',
          message: 'Expected an array of graphs for graphs but received nothing',
        },
      ],
    });
    assert.deepEqual(validateBatch([]), {
      ok: false,
      error: [
        {
          path: '',
          code: 'invalid_type',
          message: 'Expected an object with a graphs array for the batch but received an array of 0',
        },
      ],
    });
  });

  test('when the body is not JSON, then invalid_json is an issue, not an exception', () => {
    const result = parseJson('{"graphs": [');
    assert.equal(result.ok, false);
    assert.equal(result.ok ? '' : result.error[0]!.code, 'invalid_json');
  });
});
