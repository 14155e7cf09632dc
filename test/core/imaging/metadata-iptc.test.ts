/**
 * Metadata policies and IPTC-IIM, checked on the outputs the engine writes (executeGraph → encode, as the
 * imaging activity runs it): sharp's `metadata().iptc` read with our reader, and ExifReader's reading as an
 * independent check. keepCopyright keeps By-line and Copyright Notice only; keepAll keeps the whole
 * Photoshop block across stages; damaged blocks never fail a graph.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { Operation } from '../../../src/core/graph/index.js';
import {
  iimResource,
  iimStream,
  iptcFields,
  iptcTexts,
  jpegWithPhotoshopBlock,
  photoshopBlock,
  readIptc,
  type IptcDataset,
} from '../../../src/core/imaging/iptc.js';
import { jpegHead } from '../../../src/core/imaging/jpeg-segments.js';
import { exifIfd0, sourceMetadataOf } from '../../../src/core/imaging/metadata.js';
import { iptcFixturePath } from '../../support/fixtures.js';
import { readIndependently as independently } from '../../support/independent-metadata.js';
import { MemoryStore } from '../../support/memory-store.js';
import { inBucket, render, type FormatSpec } from './helpers.js';

const store = new MemoryStore();
const exiftool = readFileSync(iptcFixturePath('exiftool-ExifTool.jpg'));
/** The exiftool fixture's Photoshop block, as sharp reads it. */
let exiftoolBlock: Buffer;

const exifTags = { artist: 0x013b, copyright: 0x8298, make: 0x010f };
/** One stage: sharp reads the source. Resize, Grayscale, Resize needs two (raw pixels handed on). */
const chains: [string, Operation[]][] = [
  ['one stage', [{ type: 'Resize', width: 6 }]],
  ['two stages', [{ type: 'Resize', width: 6 }, { type: 'Grayscale' }, { type: 'Resize', width: 4 }]],
];
const twoStages = chains[1]![1];

const utf8 = (text: string) => Buffer.from(text, 'utf8');
const dataset = (number: number, data: Buffer): IptcDataset => ({ record: 2, dataset: number, data });
const label = (d: IptcDataset) => `${d.record}:${d.dataset}`;

before(async () => {
  exiftoolBlock = (await sharp(exiftool).metadata()).iptc!;
  store.seed(inBucket, 'exiftool.jpg', exiftool);

  const picture = sharp({ create: { width: 64, height: 48, channels: 3, background: '#468' } });
  const plain = await picture.clone().jpeg().toBuffer();
  // A wire photo credited in IPTC only: two By-lines in UTF-8, a city and a keyword, no Exif, no XMP.
  const newsroom = photoshopBlock([
    iimResource(
      iimStream([
        { record: 1, dataset: 90, data: Buffer.from([0x1b, 0x25, 0x47]) },
        dataset(0, Buffer.from([0, 4])),
        dataset(80, utf8('Zoë Ames')),
        dataset(80, utf8('Kai Ng')),
        dataset(90, utf8('Tromsø')),
        dataset(25, utf8('aurora')),
        dataset(116, utf8('© 2026 Northern Wire')),
      ]),
    ),
  ]);
  store.seed(inBucket, 'newsroom.jpg', jpegWithPhotoshopBlock(plain, newsroom));

  // The exiftool fixture with City's length pointing past the end of the IIM resource.
  const damaged = Buffer.from(exiftool);
  const city = damaged.indexOf(Buffer.from([0x1c, 2, 90, 0, 8]));
  damaged.writeUInt16BE(0x7fff, city + 3);
  store.seed(inBucket, 'damaged-iptc.jpg', damaged);
  // An APP13 that says "Photoshop 3.0" and then holds no resource at all.
  const garbage = Buffer.concat([
    Buffer.from('Photoshop 3.0\0', 'latin1'),
    Buffer.from('not a resource '.repeat(8)),
  ]);
  store.seed(inBucket, 'garbage-iptc.jpg', jpegWithPhotoshopBlock(plain, garbage));

  store.seed(
    inBucket,
    'camera.jpg',
    await picture
      .clone()
      .withExif({ IFD0: { Artist: 'Ada Lovelace', Copyright: '(c) Ada', Make: 'Canon' } })
      .jpeg()
      .toBuffer(),
  );
});

async function output(file: string, ops: Operation[], format: FormatSpec) {
  const { data, result } = await render(store, file, ops, format);
  assert.deepEqual(result.failures, []);
  const meta = await sharp(data).metadata();
  const { exif } = sourceMetadataOf(meta);
  return {
    data,
    meta,
    iptc: readIptc(meta.iptc),
    ifd0: exif ? exifIfd0(exif) : new Map<number, string | number>(),
    hasApp13: format.format === 'jpeg' && jpegHead(data)!.segments.some((s) => s.marker === 0xed),
  };
}

describe('IPTC under the metadata policies', () => {
  for (const [chain, ops] of chains) {
    it(`when a JPEG with IPTC By-line and City is written with keepCopyright (${chain}), then the output keeps By-line and Copyright Notice and has no City`, async () => {
      const { data, iptc, ifd0 } = await output('exiftool.jpg', ops, {
        format: 'jpeg',
        metadata: 'keepCopyright',
      });
      assert.deepEqual(iptc.map(label), ['1:90', '2:0', '2:80', '2:116']);
      assert.deepEqual(iptcTexts(iptc, iptcFields.byline), ['Phil Harvey']);
      assert.deepEqual(iptcTexts(iptc, iptcFields.copyrightNotice), ['Copyright 2004 Phil Harvey']);
      const seen = await independently(data);
      assert.deepEqual(seen.iptc['By-line'], ['Phil Harvey']);
      assert.deepEqual(seen.iptc['Copyright Notice'], ['Copyright 2004 Phil Harvey']);
      for (const gone of [
        'City',
        'Province/State',
        'Country/Primary Location Name',
        'Keywords',
        'Caption/Abstract',
      ]) {
        assert.equal(seen.iptc[gone], undefined, gone);
      }
      assert.equal(ifd0.get(exifTags.artist), 'Phil Harvey');
      assert.equal(ifd0.has(exifTags.make), false, 'no camera data');
      // The segment is metadata only: the pixels are keepIcc's, which writes no IPTC.
      const plain = await output('exiftool.jpg', ops, { format: 'jpeg', metadata: 'keepIcc' });
      assert.deepEqual(await sharp(data).raw().toBuffer(), await sharp(plain.data).raw().toBuffer());
    });
  }

  it('when several UTF-8 By-lines are the only credit, then keepCopyright keeps each in IPTC, and Exif and XMP name them too', async () => {
    const { data, iptc, ifd0 } = await output('newsroom.jpg', twoStages, {
      format: 'jpeg',
      metadata: 'keepCopyright',
    });
    assert.deepEqual(iptcTexts(iptc, iptcFields.byline), ['Zoë Ames', 'Kai Ng']);
    assert.deepEqual(iptcTexts(iptc, iptcFields.copyrightNotice), ['© 2026 Northern Wire']);
    assert.deepEqual(iptcTexts(iptc, iptcFields.city), []);
    const seen = await independently(data);
    assert.deepEqual(seen.iptc['By-line'], ['Zoë Ames', 'Kai Ng']);
    assert.equal(seen.iptc['City'], undefined);
    assert.equal(seen.xmp['creator'], 'Zoë Ames, Kai Ng');
    assert.equal(seen.xmp['rights'], '© 2026 Northern Wire');
    // Exif's text type is ASCII: libvips writes it so, transliterated.
    assert.equal(ifd0.get(exifTags.artist), 'Zoe Ames; Kai Ng');
    assert.equal(ifd0.get(exifTags.copyright), '(C) 2026 Northern Wire');
  });

  for (const format of ['webp', 'png', 'avif', 'tiff'] as const) {
    it(`when keepCopyright writes ${format} from an IPTC-only source, then there is no IPTC block and XMP carries By-lines and Copyright Notice`, async () => {
      const { data, meta } = await output('newsroom.jpg', twoStages, { format, metadata: 'keepCopyright' });
      assert.equal(meta.iptc, undefined);
      const { xmp, pngXmp } = await independently(data);
      if (format === 'png') {
        assert.match(pngXmp!, /<dc:creator><rdf:Seq><rdf:li>Zoë Ames<\/rdf:li><rdf:li>Kai Ng<\/rdf:li>/);
        assert.match(pngXmp!, /<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">© 2026 Northern Wire/);
      } else {
        assert.equal(xmp['creator'], 'Zoë Ames, Kai Ng');
        assert.equal(xmp['rights'], '© 2026 Northern Wire');
        assert.equal(xmp['City'], undefined);
      }
    });
  }

  it('when keepAll writes JPEG in one stage, then sharp keeps the source IPTC block as it was', async () => {
    const { meta } = await output('exiftool.jpg', chains[0]![1], { format: 'jpeg', metadata: 'keepAll' });
    assert.deepEqual(meta.iptc, exiftoolBlock);
  });

  for (const [how, format] of [
    ['through several stages', { format: 'jpeg', metadata: 'keepAll' }],
    ['under a byte budget', { format: 'jpeg', metadata: 'keepAll', maxBytes: 60_000 }],
  ] as const) {
    it(`when keepAll writes JPEG ${how}, then the source IPTC block is written as it was`, async () => {
      const { data, meta } = await output('exiftool.jpg', twoStages, format);
      assert.deepEqual(meta.iptc, exiftoolBlock);
      const seen = await independently(data);
      assert.deepEqual(seen.iptc['City'], ['Kingston']);
      assert.deepEqual(seen.iptc['Keywords'], ['jambalaya']);
      assert.deepEqual(seen.iptc['By-line'], ['Phil Harvey']);
    });
  }

  it('when keepAll writes WebP through several stages, then there is no IPTC block and the source XMP (UTF-16 there) describes the image', async () => {
    const { data, meta } = await output('exiftool.jpg', twoStages, { format: 'webp', metadata: 'keepAll' });
    assert.equal(meta.iptc, undefined);
    const { xmp } = await independently(data);
    assert.equal(xmp['City'], 'Kingston');
    assert.equal(xmp['creator'], 'Phil Harvey');
    assert.equal(xmp['rights'], 'Copyright 2004 Phil Harvey');
  });

  it('when strip or keepIcc is asked, then no IPTC is written', async () => {
    for (const [chain, ops] of chains) {
      for (const metadata of ['strip', 'keepIcc'] as const) {
        const { meta, hasApp13 } = await output('exiftool.jpg', ops, { format: 'jpeg', metadata });
        assert.equal(meta.iptc, undefined, `${metadata}, ${chain}`);
        assert.equal(hasApp13, false, `${metadata}, ${chain}`);
      }
    }
  });

  it('when the source has no IPTC, then keepCopyright and keepAll write no APP13 segment', async () => {
    for (const [chain, ops] of chains) {
      for (const metadata of ['keepCopyright', 'keepAll'] as const) {
        const { meta, hasApp13, ifd0 } = await output('camera.jpg', ops, { format: 'jpeg', metadata });
        assert.equal(hasApp13, false, `${metadata}, ${chain}`);
        assert.equal(meta.iptc, undefined);
        assert.equal(ifd0.get(exifTags.copyright), '(c) Ada', 'Exif is still written');
      }
    }
  });

  it('when the source IPTC is damaged mid-stream, then the graph succeeds and only what was whole before the damage is kept', async () => {
    // City (2:90) claims 32 767 bytes: it and every dataset after it (Copyright Notice among them) are lost.
    const copyright = await output('damaged-iptc.jpg', twoStages, {
      format: 'jpeg',
      metadata: 'keepCopyright',
    });
    assert.deepEqual(copyright.iptc.map(label), ['1:90', '2:0', '2:80']);
    assert.equal(
      copyright.ifd0.get(exifTags.copyright),
      'Copyright 2004 Phil Harvey',
      'Exif still names the owner',
    );
    assert.deepEqual((await independently(copyright.data)).iptc['By-line'], ['Phil Harvey']);

    const all = await output('damaged-iptc.jpg', twoStages, { format: 'jpeg', metadata: 'keepAll' });
    assert.deepEqual(iptcTexts(all.iptc, iptcFields.byline), ['Phil Harvey']);
    assert.deepEqual(iptcTexts(all.iptc, iptcFields.city), []);
    assert.equal(all.iptc.length, 10, 'the ten datasets before City');
    const seen = await independently(all.data);
    assert.equal(seen.iptc['City'], undefined);
    assert.deepEqual(seen.iptc['Object Name'], ['Test IPTC picture']);
  });

  it('when the source APP13 holds no Photoshop resources, then the graph succeeds and writes no IPTC', async () => {
    for (const [chain, ops] of chains) {
      for (const metadata of ['keepCopyright', 'keepAll'] as const) {
        const { meta, hasApp13 } = await output('garbage-iptc.jpg', ops, { format: 'jpeg', metadata });
        if (metadata === 'keepAll' && chain === 'one stage') {
          // sharp keeps the source's APP13 bytes as they were: keepAll in one stage keeps everything verbatim.
          assert.equal(hasApp13, true);
          continue;
        }
        assert.equal(hasApp13, false, `${metadata}, ${chain}`);
        assert.equal(meta.iptc, undefined);
      }
    }
  });
});
