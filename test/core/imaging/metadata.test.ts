/**
 * Metadata policies, checked by reading the output's metadata: keepCopyright keeps creator and copyright
 * while dropping GPS and camera data; keepAll keeps EXIF and XMP across stages, HEIC sources and budgets.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { Operation } from '../../../src/core/graph/index.js';
import { sourceMetadataOf, exifIfd0 } from '../../../src/core/imaging/metadata.js';
import { MemoryStore } from '../../support/memory-store.js';
import { heicFixturePath, iptcFixturePath } from '../../support/fixtures.js';
import { inBucket, render, type FormatSpec } from './helpers.js';

const tags = {
  artist: 0x013b,
  copyright: 0x8298,
  make: 0x010f,
  model: 0x0110,
  orientation: 0x0112,
  gps: 0x8825,
};
const artist = 'Ada Lovelace';
const copyright = '(c) 2026 Ada Lovelace, all rights reserved';

const store = new MemoryStore();
/** One stage: sharp can keep what it reads. Resize, Grayscale, Resize needs two stages (raw hand-off). */
const oneStage: Operation[] = [{ type: 'Resize', width: 200 }];
const twoStages: Operation[] = [
  { type: 'Resize', width: 300 },
  { type: 'Grayscale' },
  { type: 'Resize', width: 200 },
];

before(async () => {
  const picture = sharp({ create: { width: 400, height: 300, channels: 3, background: '#c84' } });
  store.seed(
    inBucket,
    'camera.jpg',
    await picture
      .clone()
      .withExif({
        IFD0: { Artist: artist, Copyright: copyright, Make: 'Canon', Model: 'EOS R5' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1' },
      })
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer(),
  );
  const xmp =
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
    '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">' +
    `<dc:creator><rdf:Seq><rdf:li>${artist}</rdf:li></rdf:Seq></dc:creator>` +
    '<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">CC BY 4.0 &amp; more</rdf:li></rdf:Alt></dc:rights>' +
    '</rdf:Description></rdf:RDF></x:xmpmeta>';
  store.seed(inBucket, 'xmp-only.png', await picture.clone().withXmp(xmp).png().toBuffer());
  // exiftool's test image keeps only its XMP, which is stored in UTF-16 (big-endian).
  store.seed(
    inBucket,
    'utf16-xmp.jpg',
    await sharp(readFileSync(iptcFixturePath('exiftool-ExifTool.jpg')))
      .keepXmp()
      .jpeg()
      .toBuffer(),
  );
  store.seed(
    inBucket,
    'phone.heic',
    readFileSync(heicFixturePath('heic-irot-exif6-480x320-shows-320x480.heic')),
  );
});

async function outputMetadata(file: string, ops: Operation[], format: FormatSpec) {
  const { data, result } = await render(store, file, ops, format);
  const meta = await sharp(data).metadata();
  const { exif, xmp } = sourceMetadataOf(meta);
  const ifd0 = exif ? exifIfd0(exif) : new Map<number, string | number>();
  return { meta, ifd0, xmp: xmp?.toString('utf8') ?? '', sink: result.sinks[0]! };
}

describe('metadata policies', () => {
  for (const [chain, ops] of [
    ['one stage', oneStage],
    ['two stages', twoStages],
  ] as const) {
    for (const format of ['jpeg', 'webp', 'png'] as const) {
      it(`when keepCopyright writes ${format} (${chain}), then creator and copyright stay and GPS and camera data go`, async () => {
        const { meta, ifd0, xmp } = await outputMetadata('camera.jpg', ops, {
          format,
          metadata: 'keepCopyright',
        });
        assert.equal(ifd0.get(tags.artist), artist);
        assert.equal(ifd0.get(tags.copyright), copyright);
        for (const gone of [tags.make, tags.model, tags.gps])
          assert.equal(ifd0.has(gone), false, `tag ${gone}`);
        assert.match(xmp, /<dc:creator><rdf:Seq><rdf:li>Ada Lovelace<\/rdf:li>/);
        assert.match(xmp, /<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">\(c\) 2026 Ada Lovelace/);
        assert.ok(meta.icc, 'an sRGB profile is attached');
      });

      it(`when keepAll writes ${format} (${chain}), then EXIF, GPS included, is kept with the orientation reset`, async () => {
        const { ifd0, sink } = await outputMetadata('camera.jpg', ops, { format, metadata: 'keepAll' });
        assert.equal(ifd0.get(tags.make), 'Canon');
        assert.equal(ifd0.get(tags.model), 'EOS R5');
        assert.equal(ifd0.get(tags.copyright), copyright);
        assert.equal(ifd0.has(tags.gps), true, 'the GPS directory is kept');
        assert.ok([undefined, 1].includes(ifd0.get(tags.orientation) as number | undefined));
        assert.deepEqual([sink.width, sink.height], [200, 267], 'upright: orientation 6 was applied');
      });
    }
  }

  it('when the source names its creator and rights in XMP only, then keepCopyright writes them to EXIF and XMP', async () => {
    const { ifd0, xmp } = await outputMetadata('xmp-only.png', oneStage, {
      format: 'jpeg',
      metadata: 'keepCopyright',
    });
    assert.equal(ifd0.get(tags.artist), artist);
    assert.equal(ifd0.get(tags.copyright), 'CC BY 4.0 & more');
    assert.match(xmp, /CC BY 4\.0 &amp; more/);
  });

  it('when the source names its creator and rights in UTF-16 XMP only, then keepCopyright still finds them', async () => {
    const { meta, ifd0, xmp } = await outputMetadata('utf16-xmp.jpg', oneStage, {
      format: 'jpeg',
      metadata: 'keepCopyright',
    });
    assert.equal(meta.iptc, undefined, 'the source had no IPTC');
    assert.equal(ifd0.get(tags.artist), 'Phil Harvey');
    assert.equal(ifd0.get(tags.copyright), 'Copyright 2004 Phil Harvey');
    assert.match(xmp, /<dc:creator><rdf:Seq><rdf:li>Phil Harvey<\/rdf:li><\/rdf:Seq>/);
  });

  it('when strip or keepIcc is asked, then no EXIF or XMP is written', async () => {
    for (const metadata of ['strip', 'keepIcc'] as const) {
      const { meta } = await outputMetadata('camera.jpg', twoStages, { format: 'jpeg', metadata });
      assert.equal(meta.exif, undefined, metadata);
      assert.equal(meta.xmp, undefined, metadata);
      assert.equal(meta.icc !== undefined, metadata === 'keepIcc');
    }
  });

  it('when a HEIC source is kept whole, then its EXIF reaches the JPEG with the orientation reset', async () => {
    const { ifd0, sink } = await outputMetadata('phone.heic', [{ type: 'Resize', width: 160 }], {
      format: 'jpeg',
      metadata: 'keepAll',
    });
    assert.equal(ifd0.get(tags.copyright), '(c) pixelshift test fixture');
    assert.equal(ifd0.get(tags.orientation), 1);
    assert.deepEqual([sink.width, sink.height], [160, 240]);
  });

  it('when a byte budget re-encodes, then keepCopyright still holds and the metadata counts against it', async () => {
    const { ifd0, sink } = await outputMetadata('camera.jpg', oneStage, {
      format: 'webp',
      metadata: 'keepCopyright',
      maxBytes: 4000,
    });
    assert.equal(ifd0.get(tags.copyright), copyright);
    assert.ok(sink.bytes <= 4000);
  });
});
