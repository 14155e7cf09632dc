import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TransformGraph } from '../../../src/core/graph/graph.js';
import {
  keyTemplateCouldMatch,
  matchesObjectFacts,
  matchesObjectName,
  normalizeMediaType,
  ruleWouldLoop,
  type RuleFilter,
} from '../../../src/core/triggers/rule-match.js';

const rule: RuleFilter = {
  connection: 'default',
  bucket: 'photos',
  prefix: 'uploads/',
  suffix: '.jpg',
  contentTypes: [],
  minSize: null,
  maxSize: null,
};

const object = (key: string, bucket = 'photos', connection = 'default') => ({ connection, bucket, key });

describe('matchesObjectName', () => {
  it('when connection, bucket, prefix and suffix agree, then the object matches', () => {
    assert.equal(matchesObjectName(rule, object('uploads/a/cat.jpg')), true);
  });
  it('when the prefix differs, then it does not match', () => {
    assert.equal(matchesObjectName(rule, object('other/cat.jpg')), false);
  });
  it('when the suffix differs (case counts), then it does not match', () => {
    assert.equal(matchesObjectName(rule, object('uploads/cat.JPG')), false);
  });
  it('when another bucket or connection has the key, then it does not match', () => {
    assert.equal(matchesObjectName(rule, object('uploads/cat.jpg', 'other')), false);
    assert.equal(matchesObjectName(rule, object('uploads/cat.jpg', 'photos', 'archive')), false);
  });
  it('when prefix and suffix overlap in a too-short key, then it does not match', () => {
    assert.equal(matchesObjectName({ ...rule, prefix: 'a.j', suffix: '.jpg' }, object('a.jpg')), false);
  });
  it('when the rule has no prefix or suffix, then every key of the bucket matches', () => {
    assert.equal(matchesObjectName({ ...rule, prefix: '', suffix: '' }, object('x')), true);
  });
});

describe('matchesObjectFacts', () => {
  it('when the content type has parameters and capitals, then they are ignored', () => {
    assert.equal(normalizeMediaType(' Image/JPEG; charset=binary'), 'image/jpeg');
    assert.equal(
      matchesObjectFacts({ ...rule, contentTypes: ['image/jpeg'] }, { contentType: 'IMAGE/jpeg; q=1' }),
      true,
    );
  });
  it('when a rule allows image/*, then any image type matches and text does not', () => {
    const images = { ...rule, contentTypes: ['image/*'] };
    assert.equal(matchesObjectFacts(images, { contentType: 'image/webp' }), true);
    assert.equal(matchesObjectFacts(images, { contentType: 'text/plain' }), false);
  });
  it('when the content type is unknown and the rule asks for one, then it does not match', () => {
    assert.equal(matchesObjectFacts({ ...rule, contentTypes: ['image/png'] }, {}), false);
  });
  it('when sizes are bounded, then both bounds are inclusive and an unknown size fails', () => {
    const bounded = { ...rule, minSize: 10, maxSize: 20 };
    assert.equal(matchesObjectFacts(bounded, { size: 10 }), true);
    assert.equal(matchesObjectFacts(bounded, { size: 20 }), true);
    assert.equal(matchesObjectFacts(bounded, { size: 9 }), false);
    assert.equal(matchesObjectFacts(bounded, { size: 21 }), false);
    assert.equal(matchesObjectFacts(bounded, {}), false);
  });
  it('when the rule has no size or type filter, then anything matches', () => {
    assert.equal(matchesObjectFacts(rule, {}), true);
  });
});

function template(...sinks: Record<string, unknown>[]): TransformGraph {
  return {
    transformUnits: [{ type: 'Resize', width: 100 }],
    outputs: sinks.map((sink) => ({
      transformUnits: [
        { type: 'ImageFormat', format: (sink.format as 'jpeg' | undefined) ?? 'jpeg' },
        { type: 'StorageSink', bucket: 'photos', ...sink, format: undefined },
      ],
    })),
  } as TransformGraph;
}

describe('ruleWouldLoop', () => {
  const uploads = { ...rule, suffix: '' };
  const loops = (sink: Record<string, unknown>, filter: RuleFilter = uploads) =>
    ruleWouldLoop({ ...filter, template: template(sink) }).length > 0;

  it('when a sink writes under the rule prefix in the same bucket, then it loops', () => {
    assert.equal(loops({ key: 'uploads/thumbs/{name}.jpg' }), true);
  });
  it('when a sink writes outside the prefix, then it does not loop', () => {
    assert.equal(loops({ key: 'thumbnails/{name}.jpg' }), false);
  });
  it('when a sink key starts with {key} or {dir} in the same bucket, then it loops', () => {
    assert.equal(loops({ key: '{key}.webp' }), true);
    assert.equal(loops({ key: '{dir}/small/{name}.jpg' }), true);
  });
  it('when the suffix cannot match the output, then it does not loop even under the prefix', () => {
    assert.equal(loops({ key: 'uploads/{name}.webp', format: 'webp' }, rule), false);
    assert.equal(loops({ key: '{key}.webp', format: 'webp' }, rule), false);
  });
  it('when the tail ends in {ext}, then the suffix could match and it loops', () => {
    assert.equal(loops({ key: 'uploads/small/{name}{ext}' }, rule), true);
  });
  it('when the sink is in another bucket or connection, then it does not loop', () => {
    assert.equal(loops({ key: '{key}', bucket: 'thumbs' }), false);
    assert.equal(loops({ key: '{key}', storage: 'archive' }), false);
  });
  it('when the sink bucket is {bucket}, then it is the rule bucket and loops', () => {
    assert.equal(loops({ key: '{key}', bucket: '{bucket}' }), true);
  });
  it('when the sink names the rule connection explicitly, then it is judged like an omitted one', () => {
    assert.equal(loops({ key: '{key}', storage: 'default' }), true);
  });
  it('when the rule only takes JPEG and the sink writes WebP, then it does not loop', () => {
    const jpegOnly = { ...uploads, contentTypes: ['image/jpeg'] };
    assert.equal(loops({ key: 'uploads/{name}.webp', format: 'webp' }, jpegOnly), false);
    assert.equal(loops({ key: 'uploads/{name}.jpg', format: 'jpeg' }, jpegOnly), true);
  });
  it('when the sink sets its own content type, then that is what the rule sees', () => {
    const jpegOnly = { ...uploads, contentTypes: ['image/jpeg'] };
    assert.equal(
      loops({ key: 'uploads/{name}.bin', format: 'webp', contentType: 'image/jpeg' }, jpegOnly),
      true,
    );
  });
  it('when a literal key sits under the prefix, then it loops; outside, it does not', () => {
    assert.equal(loops({ key: 'uploads/fixed.jpg' }), true);
    assert.equal(loops({ key: 'fixed/uploads.jpg' }), false);
  });
  it('when the rule has no prefix and no suffix, then any sink in its bucket loops', () => {
    assert.equal(loops({ key: 'anything/{name}.jpg' }, { ...rule, prefix: '', suffix: '' }), true);
  });
  it('when a loop is found, then the issue points at the sink inside the template', () => {
    const found = ruleWouldLoop({
      ...uploads,
      template: template({ key: 'thumbs/{name}.jpg' }, { key: '{key}' }),
    });
    assert.deepEqual(
      found.map((sink) => sink.path),
      ['/outputs/1/transformUnits/1'],
    );
  });
});

describe('keyTemplateCouldMatch', () => {
  for (const [key, prefix, suffix, expected] of [
    ['up{name}', 'uploads/', '', true],
    ['uploads/{name}', 'up', '', true],
    ['x/{key}', 'uploads/', '', false],
    ['{name}.png', '', '.jpg', false],
    ['{name}.jpg', '', 'g', true],
    ['{name}', '', '.jpg', true],
    ['{unknown}x', 'a', '', false],
  ] as const) {
    it(`when the key template is ${key} and the filter is ${prefix}…${suffix}, then the answer is ${expected}`, () => {
      assert.equal(keyTemplateCouldMatch(key, prefix, suffix), expected);
    });
  }
});
