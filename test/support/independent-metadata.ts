/**
 * An output's metadata as ExifReader reads it: a parser we do not maintain, so metadata tests do not only
 * trust our own reader (src/core/imaging/iptc.ts, metadata.ts).
 */
import ExifReader from 'exifreader';

export interface IndependentReading {
  /** IPTC field name → its values' descriptions (a repeated field lists each). */
  iptc: Record<string, string[]>;
  /** XMP property → its description (several items joined by ", "). */
  xmp: Record<string, string>;
  /** A PNG's XMP packet: libvips stores it in a zTXt chunk, which ExifReader lists as Latin-1 text. */
  pngXmp?: string;
}

export async function readIndependently(data: Buffer): Promise<IndependentReading> {
  const tags = await ExifReader.load(data, { expanded: true, async: true });
  const iptc = Object.fromEntries(
    Object.entries(tags.iptc ?? {}).map(([name, tag]) => [
      name,
      (Array.isArray(tag) ? tag : [tag]).map((t: { description: string }) => t.description),
    ]),
  );
  const xmp = Object.fromEntries(
    Object.entries(tags.xmp ?? {})
      .filter(([name]) => name !== '_raw')
      .map(([name, tag]) => [name, (tag as { description: string }).description]),
  );
  const png = tags.pngText?.['XML:com.adobe.xmp']?.description;
  return { iptc, xmp, ...(png === undefined ? {} : { pngXmp: Buffer.from(png, 'latin1').toString('utf8') }) };
}
