/**
 * The IPTC reader and writer on their own: a real Photoshop block (exiftool's test image), blocks built here,
 * and damaged ones. What the reader finds is checked against ExifReader, a parser we do not maintain.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import {
  copyrightIptcBlock,
  iimDatasets,
  iimResource,
  iimStream,
  iptcFields,
  iptcResourceId,
  iptcTexts,
  jpegWithPhotoshopBlock,
  keptIptcBlock,
  photoshopBlock,
  photoshopResources,
  readIptc,
  type IptcDataset,
} from '../../../src/core/imaging/iptc.js';
import { jpegHead, maxSegmentPayload } from '../../../src/core/imaging/jpeg-segments.js';
import { iptcFixturePath } from '../../support/fixtures.js';
import { readIndependently } from '../../support/independent-metadata.js';

const fixture = readFileSync(iptcFixturePath('exiftool-ExifTool.jpg'));
let block: Buffer;
let plainJpeg: Buffer;

before(async () => {
  block = (await sharp(fixture).metadata()).iptc!;
  plainJpeg = await sharp({ create: { width: 48, height: 32, channels: 3, background: '#3a6' } })
    .jpeg()
    .toBuffer();
});

const text = (value: string, encoding: BufferEncoding = 'utf8') => Buffer.from(value, encoding);
const dataset = (record: number, number: number, data: Buffer): IptcDataset => ({
  record,
  dataset: number,
  data,
});
const label = (d: IptcDataset) => `${d.record}:${d.dataset}`;

/** A small seeded generator, so the damaged inputs are the same on every run. */
function random(seed: number) {
  let state = seed;
  return (below: number) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % below;
  };
}

describe('reading IPTC', () => {
  it('when the exiftool fixture is read, then its datasets come out in file order and agree with ExifReader', async () => {
    const datasets = readIptc(block);
    assert.equal(datasets.length, 22);
    assert.deepEqual(iptcTexts(datasets, iptcFields.byline), ['Phil Harvey']);
    assert.deepEqual(iptcTexts(datasets, iptcFields.copyrightNotice), ['Copyright 2004 Phil Harvey']);
    assert.deepEqual(iptcTexts(datasets, iptcFields.city), ['Kingston']);
    assert.deepEqual(iptcTexts(datasets, { record: 2, dataset: 20 }), ['amazing', 'image', 'utilities']);
    const independent = (await readIndependently(fixture)).iptc;
    assert.deepEqual(independent['By-line'], ['Phil Harvey']);
    assert.deepEqual(independent['Copyright Notice'], ['Copyright 2004 Phil Harvey']);
    assert.deepEqual(independent['City'], ['Kingston']);
  });

  it('when the fixture block is read as resources, then all 19 are whole and the IIM one is 0x0404', () => {
    const resources = photoshopResources(block);
    assert.equal(resources.length, 19);
    assert.ok(resources.every((r) => !r.truncated && r.signature === '8BIM'));
    assert.equal(resources[0]!.id, iptcResourceId);
    assert.equal(resources[0]!.data.length, 342);
  });

  it('when a block is rebuilt from what was read, then it is byte for byte the source block', () => {
    assert.deepEqual(keptIptcBlock(block), block);
  });

  it('when 1:90 declares UTF-8, then values decode as UTF-8; without it, as Latin-1', () => {
    const utf8 = iimStream([
      dataset(1, 90, Buffer.from([0x1b, 0x25, 0x47])),
      dataset(2, 80, text('Zoë Ŝmith')),
    ]);
    const latin1 = iimStream([dataset(2, 80, text('Zoë Smith', 'latin1'))]);
    assert.deepEqual(iptcTexts(readIptc(utf8), iptcFields.byline), ['Zoë Ŝmith']);
    assert.deepEqual(iptcTexts(readIptc(latin1), iptcFields.byline), ['Zoë Smith']);
  });

  it('when a dataset uses the extended length form, then its value is read whole', () => {
    const value = text('x'.repeat(40_000));
    const extended = Buffer.concat([
      Buffer.from([0x1c, 2, 120, 0x80, 0x04]),
      Buffer.from([0, 0, value.length >> 8, value.length & 0xff]),
      value,
      iimStream([dataset(2, 80, text('after'))]),
    ]);
    const datasets = iimDatasets(extended);
    assert.deepEqual(datasets.map(label), ['2:120', '2:80']);
    assert.equal(datasets[0]!.data.length, 40_000);
  });

  it('when sharp gives a bare IIM stream (a TIFF IPTC tag), then it is read as one', () => {
    const stream = iimStream([dataset(2, 80, text('Ann')), dataset(2, 90, text('Oslo'))]);
    assert.deepEqual(readIptc(stream).map(label), ['2:80', '2:90']);
  });
});

describe('reading damaged IPTC', () => {
  it('when the block is cut at any byte, then nothing throws and what comes out is a prefix of the whole', () => {
    const whole = readIptc(block).map((d) => d.data.toString('latin1'));
    for (let cut = 0; cut <= block.length; cut++) {
      const read = readIptc(block.subarray(0, cut)).map((d) => d.data.toString('latin1'));
      assert.deepEqual(read, whole.slice(0, read.length), `cut at ${cut}`);
    }
    // The IIM resource ends at byte 14 + 12 + 342: every dataset is whole from there on.
    assert.equal(readIptc(block.subarray(0, 14 + 12 + 342)).length, 22);
  });

  it('when the input is not a Photoshop block or IIM stream, then it yields nothing', () => {
    for (const input of [
      undefined,
      Buffer.alloc(0),
      Buffer.from('Photoshop 2.5\0' + '8BIM\x04\x04\0\0\0\0\0\x05\x1c\x02\x50\0\0', 'latin1'),
      Buffer.from('Exif\0\0II*\0\x08\0\0\0', 'latin1'),
      Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'),
      Buffer.from('Photoshop 3.0\0' + 'XXXX' + 'garbage'.repeat(10), 'latin1'),
      Buffer.from('Photoshop 3.0\0', 'latin1'),
    ]) {
      assert.deepEqual(readIptc(input), [], String(input?.toString('latin1')));
    }
  });

  it('when a declared size or length runs past the end, then only what was whole before it is read', () => {
    const stream = iimStream([dataset(2, 80, text('Ann')), dataset(2, 90, text('Oslo'))]);
    // A dataset claiming 0x7fff bytes where 4 remain.
    const pastEnd = Buffer.concat([stream, Buffer.from([0x1c, 2, 116, 0x7f, 0xff]), text('tail')]);
    assert.deepEqual(readIptc(pastEnd).map(label), ['2:80', '2:90']);
    // Extended lengths: 0x7fff bytes of length, and a 4-byte length of 4 GiB − 1.
    for (const extended of [
      Buffer.from([0x1c, 2, 116, 0xff, 0xff, 0, 0]),
      Buffer.from([0x1c, 2, 116, 0x80, 4, 255, 255, 255, 255]),
    ]) {
      assert.deepEqual(readIptc(Buffer.concat([stream, extended])).map(label), ['2:80', '2:90']);
    }
    // A marker other than 0x1c stops the stream.
    assert.deepEqual(readIptc(Buffer.concat([stream, Buffer.from([0x1d, 2, 80, 0, 1, 0x41])])).map(label), [
      '2:80',
      '2:90',
    ]);
    // The IIM resource claims 4 GiB − 1 bytes: its datasets that are whole are still read.
    const huge = photoshopBlock([iimResource(stream)]);
    huge.writeUInt32BE(0xffffffff, 14 + 8);
    assert.deepEqual(readIptc(huge).map(label), ['2:80', '2:90']);
    // A resource before it claims 4 GiB − 1 bytes: nothing after it can be found.
    const before = photoshopBlock([
      { signature: '8BIM', id: 0x0425, name: Buffer.alloc(0), data: Buffer.alloc(16) },
      iimResource(stream),
    ]);
    before.writeUInt32BE(0xffffffff, 14 + 8);
    assert.deepEqual(readIptc(before), []);
    // A Pascal name claiming 255 characters where the block ends.
    const name = photoshopBlock([iimResource(stream)]).subarray(0, 14 + 8);
    name[14 + 6] = 255;
    assert.deepEqual(readIptc(name), []);
  });

  it('when bytes of the fixture block are changed at random, then reading never throws and stays inside the input', () => {
    const next = random(15);
    for (let round = 0; round < 3000; round++) {
      const damaged = Buffer.from(block.subarray(0, 14 + 12 + 342 + next(block.length - 367)));
      for (let flips = 1 + next(8); flips > 0; flips--) damaged[next(damaged.length)] = next(256);
      const datasets = readIptc(damaged);
      assert.ok(datasets.length <= damaged.length / 5);
      for (const d of datasets) {
        assert.equal(d.data.buffer, damaged.buffer, 'a view of the input, never a copy');
        assert.ok(d.data.byteOffset >= damaged.byteOffset);
        assert.ok(d.data.byteOffset + d.data.length <= damaged.byteOffset + damaged.length);
      }
      keptIptcBlock(damaged);
      copyrightIptcBlock(damaged);
    }
  });
});

describe('writing IPTC into a JPEG', () => {
  it('when a block is written, then sharp reads it back, the pixels are unchanged and it follows the APPn segments', async () => {
    const source = await sharp(plainJpeg)
      .withXmp('<x:xmpmeta xmlns:x="adobe:ns:meta/"/>')
      .withIccProfile('srgb')
      .toBuffer();
    const iptc = copyrightIptcBlock(block)!;
    const written = jpegWithPhotoshopBlock(source, iptc);
    assert.deepEqual((await sharp(written).metadata()).iptc, iptc);
    assert.deepEqual(await sharp(written).raw().toBuffer(), await sharp(source).raw().toBuffer());
    const head = jpegHead(written)!;
    assert.deepEqual(head.segments.at(-1)!.marker, 0xed);
    assert.deepEqual(
      head.segments.slice(0, -1).map((s) => s.marker),
      jpegHead(source)!.segments.map((s) => s.marker),
    );
    assert.equal(written[head.end + 1], 0xdb, 'the quantisation tables come next');
    assert.deepEqual((await readIndependently(written)).iptc['By-line'], ['Phil Harvey']);
  });

  it('when a block is as large as one segment holds, then it is written; one resource more, and the file is left as it was', async () => {
    const iim = iimResource(iimStream([dataset(2, 80, text('Ann'))]));
    /** A block of `size` bytes (blocks are even): the IIM resource and a filler resource. */
    const blockOf = (size: number) => {
      const filler = size - photoshopBlock([iim]).length - 12;
      return photoshopBlock([
        iim,
        { signature: '8BIM', id: 0x0fa0, name: Buffer.alloc(0), data: Buffer.alloc(filler) },
      ]);
    };
    const largest = blockOf(maxSegmentPayload - 1);
    assert.equal(largest.length, 65_532);
    const written = jpegWithPhotoshopBlock(plainJpeg, largest);
    assert.deepEqual((await sharp(written).metadata()).iptc, largest);
    assert.deepEqual(await sharp(written).raw().toBuffer(), await sharp(plainJpeg).raw().toBuffer());
    assert.equal(jpegWithPhotoshopBlock(plainJpeg, blockOf(maxSegmentPayload + 1)), plainJpeg);
  });

  it('when the JPEG already has a Photoshop APP13, or the data is not a JPEG, then it is left as it was', () => {
    const iptc = copyrightIptcBlock(block)!;
    assert.equal(jpegWithPhotoshopBlock(fixture, iptc), fixture);
    const png = Buffer.from('\x89PNG\r\n\x1a\n', 'latin1');
    assert.equal(jpegWithPhotoshopBlock(png, iptc), png);
    assert.equal(jpegWithPhotoshopBlock(plainJpeg, Buffer.from('not a block')), plainJpeg);
  });
});

describe('the blocks the policies write', () => {
  it('when keepCopyright builds its block, then it holds 1:90 UTF-8, 2:00 and only By-lines and Copyright Notice', () => {
    const source = photoshopBlock([
      iimResource(
        iimStream([
          dataset(2, 0, Buffer.from([0, 2])),
          dataset(2, 80, text('Zoë Ames', 'latin1')),
          dataset(2, 90, text('Kingston')),
          dataset(2, 116, text('© 2026 Zoë Ames', 'latin1')),
          dataset(2, 25, text('jambalaya')),
          dataset(2, 80, text('Kai Ng')),
        ]),
      ),
    ]);
    const kept = readIptc(copyrightIptcBlock(source));
    assert.deepEqual(kept.map(label), ['1:90', '2:0', '2:80', '2:80', '2:116']);
    assert.deepEqual(iptcTexts(kept, iptcFields.byline), ['Zoë Ames', 'Kai Ng']);
    assert.deepEqual(iptcTexts(kept, iptcFields.copyrightNotice), ['© 2026 Zoë Ames']);
    assert.equal(kept[2]!.data.toString('hex'), text('Zoë Ames').toString('hex'), 're-encoded as UTF-8');
  });

  it('when the source has neither field, then keepCopyright has no block to write', () => {
    const source = photoshopBlock([iimResource(iimStream([dataset(2, 90, text('Kingston'))]))]);
    assert.equal(copyrightIptcBlock(source), undefined);
    assert.equal(copyrightIptcBlock(undefined), undefined);
  });

  it('when By-lines do not fit one segment, then those that would overflow are left out whole', () => {
    const long = text('a'.repeat(30_000));
    const source = Buffer.concat([
      Buffer.from([0x1c, 2, 80, 0x80, 2, 0x9c, 0x40]),
      text('b'.repeat(40_000)), // above 32 767 bytes: never written in the standard form
      iimStream([
        dataset(2, 80, long),
        dataset(2, 80, long),
        dataset(2, 80, long),
        dataset(2, 116, text('(c) A')),
      ]),
    ]);
    const built = copyrightIptcBlock(source)!;
    assert.ok(built.length <= maxSegmentPayload);
    const kept = readIptc(built);
    assert.deepEqual(
      kept.map((d) => d.data.length),
      [3, 2, 30_000, 30_000, 5],
    );
  });

  it('when keepAll has a block too large for one segment, then only the IIM resource is kept, and nothing when even that is too large', () => {
    const thumbnail = { signature: '8BIM', id: 0x040c, name: Buffer.alloc(0), data: Buffer.alloc(70_000) };
    const iim = iimStream([dataset(2, 80, text('Ann'))]);
    const kept = keptIptcBlock(photoshopBlock([thumbnail, iimResource(iim)]))!;
    assert.deepEqual(
      photoshopResources(kept).map((r) => r.id),
      [iptcResourceId],
    );
    const hugeIim = iimStream([1, 2, 3].map(() => dataset(2, 120, text('c'.repeat(30_000)))));
    assert.equal(keptIptcBlock(photoshopBlock([iimResource(hugeIim)])), undefined);
  });

  it('when keepAll gets a bare IIM stream or a damaged block, then it writes what was whole as a Photoshop block', () => {
    const stream = iimStream([dataset(2, 80, text('Ann')), dataset(2, 90, text('Oslo'))]);
    assert.deepEqual(photoshopResources(keptIptcBlock(stream)!), [
      { signature: '8BIM', id: iptcResourceId, name: Buffer.alloc(0), data: stream },
    ]);
    const damaged = Buffer.from(block);
    damaged.writeUInt16BE(0x7fff, damaged.indexOf(Buffer.from([0x1c, 2, 90])) + 3); // City runs past the end
    const kept = keptIptcBlock(damaged)!;
    assert.deepEqual(iptcTexts(readIptc(kept), iptcFields.byline), ['Phil Harvey']);
    assert.deepEqual(iptcTexts(readIptc(kept), iptcFields.city), []);
    assert.equal(photoshopResources(kept).length, 19, 'the other resources are whole and kept');
  });
});
