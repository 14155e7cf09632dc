/**
 * The public vocabulary of Transform Graph units (docs/architecture.md §3–4), as zod schemas.
 * Every object is strict: an unknown field is an error, never silently ignored.
 * Bounds live here so that validation, the OpenAPI document and the engine agree, and so does every
 * default: each optional field states what the engine does without it (`Default: …` in its OpenAPI
 * description, and the `default` keyword where it is one fixed value), and each unit carries an example
 * with those defaults written out.
 */
import { z } from 'zod';
import { singleLinePattern, withoutNulPattern } from '../text-patterns.js';

/** An optional field with one fixed default, stated in its description and as the OpenAPI `default`. */
function withDefault<T extends z.ZodType>(
  schema: T,
  about: string,
  fallback: string | number | boolean,
): z.ZodOptional<T> {
  return schema
    .optional()
    .meta({ description: `${about} Default: ${JSON.stringify(fallback)}.`, default: fallback });
}

/** An optional field whose default is not one value (it depends on other fields, or is "none"). */
function withDefaultRule<T extends z.ZodType>(schema: T, about: string, rule: string): z.ZodOptional<T> {
  return schema.optional().describe(`${about} Default: ${rule}.`);
}

/**
 * The unit's description and an example with every default written out, for the OpenAPI document,
 * where the unit is the component named after its type. `crossFieldRules` are JSON Schema keywords for
 * the rules between fields that validate.ts checks and zod's generator cannot derive (e.g. `anyOf`),
 * so that the document states them too.
 */
function documented<T extends z.ZodType>(
  schema: T,
  description: string,
  example: z.input<T> & { type: string },
  crossFieldRules: Record<string, unknown> = {},
): T {
  return schema.meta({ ...crossFieldRules, id: example.type, description, example });
}

export const limits = {
  maxGraphsPerBatch: 1000,
  maxSinksPerGraph: 5,
  maxSourceBytes: 800 * 1024 * 1024,
  /** Default pixel limit against decompression bombs; sharp's own default is 268 MP. */
  defaultMaxInputPixels: 100_000_000,
  maxDepth: 8,
  maxUnitsPerGraph: 200,
  /** Largest output edge we accept in a unit (sharp's own is 16383 for WebP, larger elsewhere). */
  maxDimension: 16_383,
  maxKeyLength: 1024,
  maxBucketLength: 63,
} as const;

/** The storage connection a unit, rule or hook uses when it names none. */
export const DEFAULT_CONNECTION = 'default';

/**
 * A storage connection's name, the same wherever one is named: server config, a unit's `storage`, a
 * rule or an inbound hook.
 */
export const connectionNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const connectionNameSchema = z
  .string()
  .regex(
    connectionNamePattern,
    'Expected a connection name of up to 64 letters, digits, dots, underscores and hyphens',
  );

const connectionName = connectionNameSchema.describe(
  `Name of a storage connection from server config; "${DEFAULT_CONNECTION}" when omitted.`,
);
const bucketName = z
  .string()
  .min(1)
  .max(limits.maxBucketLength)
  .regex(/^[a-z0-9][a-z0-9.-]*[a-z0-9]$|^[a-z0-9]$/);
// Control characters in keys are a classic source of log injection and broken URLs.
const objectKey = z.string().min(1).max(limits.maxKeyLength).regex(singleLinePattern);

export const colorSchema = z
  .string()
  .regex(/^#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/)
  .describe('Colour as #rrggbb or #rrggbbaa.');

const dimension = z.number().int().min(1).max(limits.maxDimension);
const offset = z.number().int().min(0).max(limits.maxDimension);
export const gravities = [
  'center',
  'north',
  'northeast',
  'east',
  'southeast',
  'south',
  'southwest',
  'west',
  'northwest',
] as const;
const gravity = z.enum(gravities);

// ---------------------------------------------------------------- storage

const storageName = (what: string) =>
  withDefault(connectionName, `Storage connection (server config) ${what}.`, DEFAULT_CONNECTION);

export const storageSourceSchema = documented(
  z.strictObject({
    type: z.literal('StorageSource'),
    storage: storageName('to read from'),
    bucket: bucketName,
    key: objectKey,
    versionId: withDefaultRule(
      z.string().min(1).max(1024).regex(singleLinePattern),
      'Object version to read, on a versioned bucket.',
      'the latest version',
    ),
    /** Output is upright unless the graph says otherwise (docs/architecture.md §4). */
    autoOrient: withDefault(z.boolean(), 'Apply the EXIF orientation while decoding.', true),
    page: withDefaultRule(
      z.number().int().min(0).max(10_000),
      'Frame to read from multi-page input (TIFF pages, animation frames).',
      'every frame of an animated GIF or WebP, the first page of anything else',
    ),
  }),
  'Where the original image is: the first unit of a graph. The source is downloaded once per graph.',
  { type: 'StorageSource', storage: 'default', bucket: 'photos', key: 'in/cat.jpg', autoOrient: true },
);

const maxMetadataEntries = 32;
const metadataNamePattern = /^[a-z0-9-]{1,64}$/;
/**
 * User metadata of a written object. The generator documents neither a record's key schema nor a
 * refinement, so `propertyNames` and `maxProperties` state them.
 */
const metadataMap = z
  .record(z.string().regex(metadataNamePattern), z.string().max(1024).regex(singleLinePattern))
  .refine((map) => Object.keys(map).length <= maxMetadataEntries, {
    message: `at most ${maxMetadataEntries} entries`,
  })
  .meta({
    propertyNames: { type: 'string', pattern: metadataNamePattern.source },
    maxProperties: maxMetadataEntries,
  });

export const storageSinkSchema = documented(
  z.strictObject({
    type: z.literal('StorageSink'),
    storage: withDefaultRule(
      connectionName,
      'Storage connection (server config) to write to.',
      `"${DEFAULT_CONNECTION}"; in rule and hook templates, the connection of the triggering object`,
    ),
    bucket: bucketName,
    key: objectKey,
    contentType: withDefaultRule(
      z.string().regex(/^[a-z]+\/[a-z0-9.+-]+$/),
      'Content-Type stored with the object.',
      'the MIME type of the format written, e.g. "image/webp"',
    ),
    cacheControl: withDefaultRule(
      z.string().max(256).regex(singleLinePattern),
      'Cache-Control stored with the object.',
      'none',
    ),
    metadata: withDefaultRule(
      metadataMap,
      'User metadata stored with the object.',
      "none (pixelshift's generated-output marker is always added)",
    ),
  }),
  'Where an output is written: the last unit of a chain, after its ImageFormat. Writes overwrite.',
  {
    type: 'StorageSink',
    storage: 'default',
    bucket: 'photos',
    key: 'out/cat-thumb.webp',
    contentType: 'image/webp',
  },
);

// ---------------------------------------------------------------- format

export const outputFormats = ['jpeg', 'png', 'webp', 'avif', 'tiff', 'gif'] as const;
export const metadataPolicies = ['strip', 'keepIcc', 'keepCopyright', 'keepAll'] as const;

/** Which flat options each format accepts. */
export const formatOptions: Record<(typeof outputFormats)[number], readonly string[]> = {
  jpeg: ['quality', 'progressive', 'mozjpeg', 'chromaSubsampling', 'maxBytes'],
  png: ['palette', 'colors', 'compressionLevel', 'quality', 'effort', 'progressive'],
  webp: ['quality', 'lossless', 'nearLossless', 'effort', 'animated', 'maxBytes'],
  avif: ['quality', 'lossless', 'effort', 'chromaSubsampling', 'maxBytes'],
  tiff: ['quality', 'compression'],
  gif: ['colors', 'effort', 'animated'],
};
/** Effort ranges differ per encoder. */
export const effortRange: Partial<Record<(typeof outputFormats)[number], [number, number]>> = {
  png: [1, 10],
  webp: [0, 6],
  avif: [0, 9],
  gif: [1, 10],
};

/**
 * The per-format rules of an ImageFormat in JSON Schema, from formatOptions and effortRange, so that the
 * document states what validate.ts checks: one branch per format naming the fields it allows and its
 * effort range; for a format with both a byte budget and lossless output, a budget means lossy output.
 */
function formatVariants(): Record<string, unknown>[] {
  return outputFormats.flatMap((format) => {
    const allowed = ['type', 'format', 'metadata', ...formatOptions[format]];
    const range = effortRange[format];
    const properties = {
      format: { const: format },
      ...(range ? { effort: { minimum: range[0], maximum: range[1] } } : {}),
    };
    if (!allowed.includes('maxBytes') || !allowed.includes('lossless')) {
      return [{ properties, propertyNames: { enum: allowed } }];
    }
    return [
      { properties, propertyNames: { enum: allowed.filter((name) => name !== 'maxBytes') } },
      {
        // A typed one-value enum, not `const: false`: openapi-python-client writes invalid Python for a
        // boolean const (docs/clients.md).
        properties: { ...properties, lossless: { type: 'boolean', enum: [false] } },
        propertyNames: { enum: allowed },
        required: ['maxBytes'],
      },
    ];
  });
}

/**
 * Format options are flat for the client's convenience; options that do not apply to the chosen
 * format are refused (see validate.ts) instead of ignored.
 */
export const imageFormatSchema = documented(
  z.strictObject({
    type: z.literal('ImageFormat'),
    format: z.enum(outputFormats),
    quality: withDefaultRule(
      z.number().int().min(1).max(100),
      'Encoder quality (jpeg, webp, avif, tiff; png: palette quality).',
      'jpeg 80, webp 80, avif 50, tiff 80, png 100',
    ),
    metadata: withDefault(
      z.enum(metadataPolicies),
      'What metadata the output keeps. "strip": none. "keepIcc": an sRGB ICC profile. "keepCopyright": the ' +
        'sRGB profile plus who made and who owns the image (Exif Artist and Copyright, XMP dc:creator and ' +
        'dc:rights, and in JPEG the IPTC By-line and Copyright Notice), without GPS, camera data, location, ' +
        'keywords or captions; other formats carry them in XMP only (gif carries none). "keepAll": the sRGB ' +
        'profile plus EXIF (orientation reset), XMP and IPTC (IPTC in jpeg; in tiff only from a one-stage ' +
        'chain).',
      'strip',
    ).meta({ examples: ['keepCopyright'] }),
    animated: withDefault(
      z.boolean(),
      'Keep the animation of an animated source when the format can hold it (gif, webp).',
      true,
    ),
    // jpeg
    progressive: withDefault(z.boolean(), 'Progressive JPEG, interlaced PNG (jpeg, png).', false),
    mozjpeg: withDefault(z.boolean(), 'Use mozjpeg defaults: smaller files, slower (jpeg).', false),
    chromaSubsampling: withDefaultRule(
      z.enum(['4:2:0', '4:4:4']),
      'Chroma subsampling (jpeg, avif).',
      'jpeg "4:2:0", avif "4:4:4"',
    ),
    // png
    palette: withDefaultRule(
      z.boolean(),
      'Quantise to a palette with alpha (png).',
      'false, or true when quality, colors or effort is given',
    ),
    colors: withDefault(z.number().int().min(2).max(256), 'Most palette entries (png, gif).', 256),
    compressionLevel: withDefault(z.number().int().min(0).max(9), 'zlib compression level (png).', 6),
    // webp / avif
    lossless: withDefault(z.boolean(), 'Lossless compression (webp, avif).', false),
    nearLossless: withDefault(z.boolean(), 'Near-lossless compression (webp).', false),
    effort: withDefaultRule(
      z.number().int().min(0).max(10),
      'CPU effort: higher is smaller and slower (png 1-10, webp 0-6, avif 0-9, gif 1-10).',
      'png 7, webp 4, avif 4, gif 7',
    ),
    // tiff
    compression: withDefault(z.enum(['none', 'lzw', 'deflate', 'jpeg']), 'TIFF compression (tiff).', 'jpeg'),
    // jpeg / webp / avif
    maxBytes: withDefaultRule(
      z.number().int().min(1).max(limits.maxSourceBytes),
      'Byte budget for the encoded output (jpeg, webp, avif; not lossless). The encoder searches quality ' +
        'from `quality` (or the format default) down to a floor of 30, then makes the image smaller, to ' +
        'write the best output at or under the budget in a bounded number of encodes. The sink result ' +
        'reports the quality chosen; a budget that cannot be met fails that sink with budget_unreachable.',
      'none (no budget)',
    ).meta({ examples: [150_000] }),
  }),
  'How an output is encoded: just before its StorageSink. Options that do not apply to the format are refused.',
  { type: 'ImageFormat', format: 'webp', quality: 80, metadata: 'strip', lossless: false, effort: 4 },
  { anyOf: formatVariants() },
);

// ---------------------------------------------------------------- geometry

export const resizeFits = ['cover', 'contain', 'fill', 'inside', 'outside'] as const;
export const resizeKernels = [
  'nearest',
  'linear',
  'cubic',
  'mitchell',
  'lanczos2',
  'lanczos3',
  'mks2013',
  'mks2021',
] as const;

const opaqueBlack = '#000000';

export const resizeSchema = documented(
  z.strictObject({
    type: z.literal('Resize'),
    width: withDefaultRule(dimension, 'Target width in pixels.', 'follows the height and the aspect ratio'),
    height: withDefaultRule(dimension, 'Target height in pixels.', 'follows the width and the aspect ratio'),
    fit: withDefault(
      z.enum(resizeFits),
      'How the image fits width×height: "cover" crops to fill it, "contain" letterboxes, "fill" stretches, "inside"/"outside" keep the aspect ratio within/around it.',
      'cover',
    ),
    position: withDefault(
      z.enum([...gravities, 'attention', 'entropy']),
      'What "cover" keeps when it crops: a side, or the most salient ("attention") or busiest ("entropy") region.',
      'center',
    ),
    kernel: withDefault(z.enum(resizeKernels), 'Resampling kernel.', 'lanczos3'),
    withoutEnlargement: withDefaultRule(
      z.boolean(),
      'Never make the image larger than the source.',
      'false for "cover" and "fill" with both width and height (the output is exactly that size), true otherwise (upscaling only adds bytes)',
    ),
    background: withDefault(
      colorSchema,
      'Letterbox colour of "contain", as #rrggbb or #rrggbbaa.',
      opaqueBlack,
    ),
  }),
  'Changes the size. Give a width, a height or both.',
  {
    type: 'Resize',
    width: 320,
    height: 320,
    fit: 'cover',
    position: 'center',
    kernel: 'lanczos3',
    withoutEnlargement: false,
    background: opaqueBlack,
  },
  // A Resize needs a width or a height (or both).
  { anyOf: [{ required: ['width'] }, { required: ['height'] }] },
);

/**
 * Whether a Resize may not enlarge: as the unit says, or else only when it was not asked for an exact
 * size, which `cover` and `fill` with both dimensions are (a 320×320 thumbnail of a small source must
 * still be 320×320, or square grids break).
 */
export function resizeWithoutEnlargement(
  resize: Pick<Resize, 'width' | 'height' | 'fit' | 'withoutEnlargement'>,
): boolean {
  if (resize.withoutEnlargement !== undefined) return resize.withoutEnlargement;
  const fit = resize.fit ?? 'cover';
  const exactSize = resize.width !== undefined && resize.height !== undefined;
  return !(exactSize && (fit === 'cover' || fit === 'fill'));
}

const cropEdges = ['left', 'top', 'width', 'height'] as const;

export const cropSchema = documented(
  z.strictObject({
    type: z.literal('Crop'),
    unit: withDefault(
      z.enum(['px', 'fraction']),
      '"px": integers in pixels; "fraction": 0..1 of the current width and height.',
      'px',
    ),
    left: z.number().min(0).max(limits.maxDimension),
    top: z.number().min(0).max(limits.maxDimension),
    width: z.number().positive().max(limits.maxDimension),
    height: z.number().positive().max(limits.maxDimension),
  }),
  'Cuts out a rectangle.',
  { type: 'Crop', unit: 'px', left: 10, top: 10, width: 200, height: 150 },
  {
    // Pixels are whole; fractions are at most 1 (that left + width and top + height are too is checked
    // by the validator, `crop_outside_image`: JSON Schema cannot add two fields).
    anyOf: [
      {
        properties: {
          unit: { const: 'px' },
          ...Object.fromEntries(cropEdges.map((edge) => [edge, { type: 'integer' }])),
        },
      },
      {
        properties: {
          unit: { const: 'fraction' },
          ...Object.fromEntries(cropEdges.map((edge) => [edge, { maximum: 1 }])),
        },
        required: ['unit'],
      },
    ],
  },
);

export const autoCropSchema = documented(
  z.strictObject({
    type: z.literal('AutoCrop'),
    /** `trim` removes uniform borders; `smart` crops to width×height around the salient region. */
    mode: z.enum(['trim', 'smart']),
    threshold: withDefault(
      z.number().min(0).max(255),
      'How far from the border colour a pixel may be and still be trimmed ("trim").',
      10,
    ),
    width: withDefaultRule(dimension, 'Width to crop to ("smart"; required there).', 'none'),
    height: withDefaultRule(dimension, 'Height to crop to ("smart"; required there).', 'none'),
  }),
  '"trim" removes uniform borders; "smart" crops to width×height around the most salient region, never enlarging.',
  { type: 'AutoCrop', mode: 'trim', threshold: 10 },
  {
    // `smart` needs the size to crop to; `trim` takes none.
    anyOf: [
      { properties: { mode: { const: 'smart' } }, required: ['width', 'height'] },
      { properties: { mode: { const: 'trim' } }, propertyNames: { enum: ['type', 'mode', 'threshold'] } },
    ],
  },
);

const side = (name: string) => withDefault(offset, `Pixels added at the ${name}.`, 0);

export const extendSchema = documented(
  z.strictObject({
    type: z.literal('Extend'),
    top: side('top'),
    bottom: side('bottom'),
    left: side('left'),
    right: side('right'),
    extendWith: withDefault(
      z.enum(['background', 'copy', 'repeat', 'mirror']),
      'What fills the new pixels: the background colour, or copies of the edge.',
      'background',
    ),
    background: withDefault(colorSchema, 'Colour of the new pixels, as #rrggbb or #rrggbbaa.', opaqueBlack),
  }),
  'Pads the image.',
  {
    type: 'Extend',
    top: 10,
    bottom: 10,
    left: 0,
    right: 0,
    extendWith: 'background',
    background: opaqueBlack,
  },
);

export const rotateSchema = documented(
  z.strictObject({
    type: z.literal('Rotate'),
    angle: z.number().min(-360).max(360),
    background: withDefault(
      colorSchema,
      'Colour of the corners an angle that is not a multiple of 90 uncovers, as #rrggbb or #rrggbbaa.',
      opaqueBlack,
    ),
  }),
  'Rotates clockwise by any angle.',
  { type: 'Rotate', angle: 90, background: opaqueBlack },
);

export const autoOrientSchema = documented(
  z.strictObject({ type: z.literal('AutoOrient') }),
  'Applies the EXIF orientation (sources do so already unless autoOrient is false).',
  { type: 'AutoOrient' },
);
export const flipSchema = documented(z.strictObject({ type: z.literal('Flip') }), 'Mirrors top to bottom.', {
  type: 'Flip',
});
export const flopSchema = documented(z.strictObject({ type: z.literal('Flop') }), 'Mirrors left to right.', {
  type: 'Flop',
});

// ---------------------------------------------------------------- colour

export const grayscaleSchema = documented(
  z.strictObject({ type: z.literal('Grayscale') }),
  'Converts to shades of grey.',
  { type: 'Grayscale' },
);
export const tintSchema = documented(
  z.strictObject({ type: z.literal('Tint'), color: colorSchema }),
  'Tints the image with a colour, keeping its luminance.',
  { type: 'Tint', color: '#704214' },
);
export const modulateSchema = documented(
  z.strictObject({
    type: z.literal('Modulate'),
    brightness: withDefault(z.number().min(0).max(10), 'Brightness multiplier.', 1),
    saturation: withDefault(z.number().min(0).max(10), 'Saturation multiplier.', 1),
    hue: withDefault(z.number().int().min(-360).max(360), 'Hue rotation in degrees.', 0),
    lightness: withDefault(z.number().min(-100).max(100), 'Lightness added.', 0),
  }),
  'Adjusts brightness, saturation, hue and lightness.',
  { type: 'Modulate', brightness: 1.1, saturation: 1, hue: 0, lightness: 0 },
);
export const negateSchema = documented(
  z.strictObject({
    type: z.literal('Negate'),
    alpha: withDefault(z.boolean(), 'Invert the alpha channel too.', false),
  }),
  'Inverts the colours.',
  { type: 'Negate', alpha: false },
);
export const normalizeSchema = documented(
  z.strictObject({
    type: z.literal('Normalize'),
    lower: withDefault(z.number().min(0).max(99), 'Percentile of luminance that becomes black.', 1),
    upper: withDefault(z.number().min(1).max(100), 'Percentile of luminance that becomes white.', 99),
  }),
  'Stretches the luminance to the full range.',
  { type: 'Normalize', lower: 1, upper: 99 },
);
export const gammaSchema = documented(
  z.strictObject({
    type: z.literal('Gamma'),
    gamma: withDefault(z.number().min(1).max(3), 'Gamma the image is decoded with.', 2.2),
    gammaOut: withDefaultRule(
      z.number().min(1).max(3),
      'Gamma the image is encoded with.',
      'the same as gamma',
    ),
  }),
  'Gamma correction; with both equal, the operations between run in linear light.',
  { type: 'Gamma', gamma: 2.2, gammaOut: 2.2 },
);
export const linearSchema = documented(
  z.strictObject({
    type: z.literal('Linear'),
    a: withDefault(z.number().min(0).max(10), 'Multiplier (contrast).', 1),
    b: withDefault(z.number().min(-255).max(255), 'Offset (brightness), in 0..255 units.', 0),
  }),
  'Applies a × pixel + b to every pixel.',
  { type: 'Linear', a: 1.2, b: 0 },
);
export const claheSchema = documented(
  z.strictObject({
    type: z.literal('Clahe'),
    width: z.number().int().min(1).max(1024),
    height: z.number().int().min(1).max(1024),
    maxSlope: withDefault(z.number().int().min(0).max(100), 'Contrast limit (0 for none).', 3),
  }),
  'Contrast-limited adaptive histogram equalisation over width×height regions.',
  { type: 'Clahe', width: 64, height: 64, maxSlope: 3 },
);
export const thresholdSchema = documented(
  z.strictObject({
    type: z.literal('Threshold'),
    threshold: withDefault(
      z.number().int().min(0).max(255),
      'Pixels at or above it become white, the rest black.',
      128,
    ),
    grayscale: withDefault(z.boolean(), 'Convert to greyscale first (otherwise per channel).', true),
  }),
  'Turns the image into black and white.',
  { type: 'Threshold', threshold: 128, grayscale: true },
);
export const flattenSchema = documented(
  z.strictObject({
    type: z.literal('Flatten'),
    background: withDefault(colorSchema, 'Colour under the transparent areas, as #rrggbb.', '#ffffff'),
  }),
  'Merges the alpha channel onto a background colour.',
  { type: 'Flatten', background: '#ffffff' },
);
export const removeAlphaSchema = documented(
  z.strictObject({ type: z.literal('RemoveAlpha') }),
  'Drops the alpha channel without blending.',
  { type: 'RemoveAlpha' },
);

// ---------------------------------------------------------------- filters

export const blurSchema = documented(
  z.strictObject({
    type: z.literal('Blur'),
    sigma: withDefaultRule(
      z.number().min(0.3).max(1000),
      'Sigma of the Gaussian blur.',
      'none: a fast 3×3 box blur',
    ),
  }),
  'Blurs the image.',
  { type: 'Blur', sigma: 2 },
);
export const sharpenSchema = documented(
  z.strictObject({
    type: z.literal('Sharpen'),
    sigma: withDefaultRule(
      z.number().min(0.000001).max(10),
      'Sigma of the Gaussian mask.',
      'none: a fast, mild sharpen; 1 once flat or jagged is given',
    ),
    flat: withDefault(z.number().min(0).max(1_000_000), 'Sharpening of flat areas.', 1),
    jagged: withDefault(z.number().min(0).max(1_000_000), 'Sharpening of jagged areas.', 2),
  }),
  'Sharpens the image.',
  { type: 'Sharpen', sigma: 1, flat: 1, jagged: 2 },
);
export const medianSchema = documented(
  z.strictObject({
    type: z.literal('Median'),
    size: withDefault(z.number().int().min(1).max(99), 'Size of the square mask.', 3),
  }),
  'Median filter: removes speckle noise.',
  { type: 'Median', size: 3 },
);

// ---------------------------------------------------------------- composition

export const watermarkSchema = documented(
  z.strictObject({
    type: z.literal('Watermark'),
    storage: storageName('the overlay is read from'),
    bucket: bucketName,
    key: objectKey,
    gravity: withDefault(gravity, 'Where the overlay goes.', 'center'),
    left: withDefaultRule(
      offset,
      'Pixel offset from the left edge; left or top overrides gravity.',
      'none (gravity places it; 0 when only top is given)',
    ),
    top: withDefaultRule(
      offset,
      'Pixel offset from the top edge; left or top overrides gravity.',
      'none (gravity places it; 0 when only left is given)',
    ),
    opacity: withDefault(z.number().min(0).max(1), 'Opacity of the overlay.', 1),
    tile: withDefault(z.boolean(), 'Repeat the overlay over the whole image.', false),
    scale: withDefaultRule(
      z.number().gt(0).max(1),
      'Overlay width as a fraction of the image width (keeps its aspect ratio).',
      'none: its own size, shrunk to fit the image',
    ),
  }),
  'Overlays another stored image.',
  {
    type: 'Watermark',
    storage: 'default',
    bucket: 'photos',
    key: 'brand/logo.png',
    gravity: 'southeast',
    opacity: 0.6,
    tile: false,
    scale: 0.2,
  },
);

/** Fonts the test tooling and the container image install (Debian's fonts-dejavu-core). */
export const defaultTextFont = 'DejaVu Sans';

export const textSchema = documented(
  z.strictObject({
    type: z.literal('Text'),
    text: z
      .string()
      .min(1)
      .max(2000)
      .regex(withoutNulPattern)
      .describe('The text to draw: plain text (no markup); line breaks start new lines.')
      .meta({ examples: ['© 2026 Ada Lovelace'] }),
    font: withDefault(
      z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 -]{0,99}$/),
      'Font family installed on the server, optionally with a style, e.g. "DejaVu Serif Bold"; an unknown ' +
        "family falls back to the server's default sans-serif.",
      defaultTextFont,
    ).meta({ examples: ['DejaVu Sans Bold'] }),
    size: withDefault(z.number().int().min(4).max(1000), 'Font size in pixels.', 32).meta({
      examples: [48],
    }),
    color: withDefault(
      colorSchema,
      'Text colour, #rrggbb or #rrggbbaa (alpha for translucent text).',
      '#ffffff',
    ).meta({ examples: ['#ffffffcc'] }),
    background: withDefaultRule(
      colorSchema,
      'Colour of a box drawn behind the text, #rrggbb or #rrggbbaa.',
      'none',
    ).meta({ examples: ['#00000080'] }),
    padding: withDefaultRule(
      offset,
      'Space between the text and the edge of its box, in pixels.',
      'a quarter of size',
    ).meta({ examples: [8] }),
    width: withDefaultRule(
      dimension,
      'Wrapping width in pixels; longer lines wrap at words.',
      'the image width',
    ).meta({ examples: [600] }),
    align: withDefault(z.enum(['left', 'center', 'right']), 'Alignment of wrapped lines.', 'left'),
    gravity: withDefault(gravity, 'Where the text box goes when left/top are not given.', 'southeast').meta({
      examples: ['south'],
    }),
    left: withDefaultRule(offset, 'Offset of the text box from the left edge; overrides gravity.', 'none'),
    top: withDefaultRule(offset, 'Offset of the text box from the top edge; overrides gravity.', 'none'),
  }),
  'Draws text over the image (Pango, with the fonts installed on the server). Several Text and Watermark ' +
    'units in one chain are drawn in order, each over the result of the ones before.',
  {
    type: 'Text',
    text: '© 2026 Ada Lovelace',
    font: defaultTextFont,
    size: 32,
    color: '#ffffff',
    padding: 8,
    align: 'left',
    gravity: 'southeast',
  },
);

export const operationSchemas = [
  resizeSchema,
  cropSchema,
  autoCropSchema,
  extendSchema,
  rotateSchema,
  autoOrientSchema,
  flipSchema,
  flopSchema,
  grayscaleSchema,
  tintSchema,
  modulateSchema,
  negateSchema,
  normalizeSchema,
  gammaSchema,
  linearSchema,
  claheSchema,
  thresholdSchema,
  flattenSchema,
  removeAlphaSchema,
  blurSchema,
  sharpenSchema,
  medianSchema,
  watermarkSchema,
  textSchema,
] as const;

export const transformUnitSchema = z
  .discriminatedUnion('type', [
    storageSourceSchema,
    ...operationSchemas,
    imageFormatSchema,
    storageSinkSchema,
  ])
  .meta({ id: 'TransformUnit' });

export type StorageSource = z.infer<typeof storageSourceSchema>;
export type Resize = z.infer<typeof resizeSchema>;
export type StorageSink = z.infer<typeof storageSinkSchema>;
export type ImageFormat = z.infer<typeof imageFormatSchema>;
export type OutputFormat = ImageFormat['format'];
export type TransformUnit = z.infer<typeof transformUnitSchema>;
export type Operation = Exclude<TransformUnit, StorageSource | ImageFormat | StorageSink>;
export type UnitOfType<T extends TransformUnit['type']> = Extract<TransformUnit, { type: T }>;

export const unitTypes: readonly TransformUnit['type'][] = transformUnitSchema.options.map(
  (option) => option.shape.type.value,
);

export function isOperation(unit: TransformUnit): unit is Operation {
  return unit.type !== 'StorageSource' && unit.type !== 'ImageFormat' && unit.type !== 'StorageSink';
}
