/**
 * The public vocabulary of Transform Graph units (docs/architecture.md §3–4), as zod schemas.
 * Every object is strict: an unknown field is an error, never silently ignored.
 * Bounds live here so that validation, the OpenAPI document and the engine agree.
 */
import { z } from 'zod';
import { singleLinePattern, withoutNulPattern } from '../text-patterns.js';

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

export const storageSourceSchema = z
  .strictObject({
    type: z.literal('StorageSource'),
    storage: connectionName.optional(),
    bucket: bucketName,
    key: objectKey,
    versionId: z.string().min(1).max(1024).regex(singleLinePattern).optional(),
    /** Output is upright unless the graph says otherwise (docs/architecture.md §4). */
    autoOrient: z.boolean().optional(),
    /** Frame to read from multi-page input (TIFF pages, animation frames); all frames when omitted for animations. */
    page: z.number().int().min(0).max(10_000).optional(),
  })
  .meta({ id: 'StorageSource' });

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

export const storageSinkSchema = z
  .strictObject({
    type: z.literal('StorageSink'),
    storage: connectionName.optional(),
    bucket: bucketName,
    key: objectKey,
    contentType: z
      .string()
      .regex(/^[a-z]+\/[a-z0-9.+-]+$/)
      .optional(),
    cacheControl: z.string().max(256).regex(singleLinePattern).optional(),
    metadata: metadataMap.optional(),
  })
  .meta({ id: 'StorageSink' });

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
        properties: { ...properties, lossless: { const: false } },
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
export const imageFormatSchema = z
  .strictObject({
    type: z.literal('ImageFormat'),
    format: z.enum(outputFormats),
    quality: z.number().int().min(1).max(100).optional(),
    metadata: z
      .enum(metadataPolicies)
      .optional()
      .describe(
        'What metadata the output keeps. "strip": none. "keepIcc": an sRGB ICC profile. "keepCopyright": the ' +
          'sRGB profile plus who made and who owns the image (Exif Artist and Copyright, XMP dc:creator and ' +
          'dc:rights), without GPS or camera data. "keepAll": the sRGB profile plus EXIF (orientation reset), ' +
          'XMP and IPTC. Default: "strip".',
      )
      .meta({ examples: ['keepCopyright'] }),
    /** Keep animation when the format can hold it (GIF, WebP). Default true. */
    animated: z.boolean().optional(),
    // jpeg
    progressive: z.boolean().optional(),
    mozjpeg: z.boolean().optional(),
    chromaSubsampling: z.enum(['4:2:0', '4:4:4']).optional(),
    // png
    palette: z.boolean().optional(),
    colors: z.number().int().min(2).max(256).optional(),
    compressionLevel: z.number().int().min(0).max(9).optional(),
    // webp / avif
    lossless: z.boolean().optional(),
    nearLossless: z.boolean().optional(),
    effort: z.number().int().min(0).max(10).optional(),
    // tiff
    compression: z.enum(['none', 'lzw', 'deflate', 'jpeg']).optional(),
    // jpeg / webp / avif
    maxBytes: z
      .number()
      .int()
      .min(1)
      .max(limits.maxSourceBytes)
      .optional()
      .describe(
        'Byte budget for the encoded output (jpeg, webp, avif; not lossless). The encoder searches quality ' +
          'from `quality` (or the format default) down to a floor of 30, then makes the image smaller, to ' +
          'write the best output at or under the budget in a bounded number of encodes. The sink result ' +
          'reports the quality chosen; a budget that cannot be met fails that sink with budget_unreachable. ' +
          'Default: none (no budget).',
      )
      .meta({ examples: [150_000] }),
  })
  .meta({ id: 'ImageFormat', anyOf: formatVariants() });

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

export const resizeSchema = z
  .strictObject({
    type: z.literal('Resize'),
    width: dimension.optional(),
    height: dimension.optional(),
    fit: z.enum(resizeFits).optional(),
    position: z.enum([...gravities, 'attention', 'entropy']).optional(),
    kernel: z.enum(resizeKernels).optional(),
    /** Never enlarge by default: upscaling only adds bytes. */
    withoutEnlargement: z.boolean().optional(),
    background: colorSchema.optional(),
  })
  // A Resize needs a width or a height (or both).
  .meta({ id: 'Resize', anyOf: [{ required: ['width'] }, { required: ['height'] }] });

const cropEdges = ['left', 'top', 'width', 'height'] as const;

export const cropSchema = z
  .strictObject({
    type: z.literal('Crop'),
    /** `px` (default): integers in pixels. `fraction`: 0..1 of the current width and height. */
    unit: z.enum(['px', 'fraction']).optional(),
    left: z.number().min(0).max(limits.maxDimension),
    top: z.number().min(0).max(limits.maxDimension),
    width: z.number().positive().max(limits.maxDimension),
    height: z.number().positive().max(limits.maxDimension),
  })
  .meta({
    id: 'Crop',
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
  });

export const autoCropSchema = z
  .strictObject({
    type: z.literal('AutoCrop'),
    /** `trim` removes uniform borders; `smart` crops to width×height around the salient region. */
    mode: z.enum(['trim', 'smart']),
    threshold: z.number().min(0).max(255).optional(),
    width: dimension.optional(),
    height: dimension.optional(),
  })
  .meta({
    id: 'AutoCrop',
    // `smart` needs the size to crop to; `trim` takes none.
    anyOf: [
      { properties: { mode: { const: 'smart' } }, required: ['width', 'height'] },
      { properties: { mode: { const: 'trim' } }, propertyNames: { enum: ['type', 'mode', 'threshold'] } },
    ],
  });

export const extendSchema = z
  .strictObject({
    type: z.literal('Extend'),
    top: offset.optional(),
    bottom: offset.optional(),
    left: offset.optional(),
    right: offset.optional(),
    extendWith: z.enum(['background', 'copy', 'repeat', 'mirror']).optional(),
    background: colorSchema.optional(),
  })
  .meta({ id: 'Extend' });

export const rotateSchema = z
  .strictObject({
    type: z.literal('Rotate'),
    angle: z.number().min(-360).max(360),
    background: colorSchema.optional(),
  })
  .meta({ id: 'Rotate' });

export const autoOrientSchema = z.strictObject({ type: z.literal('AutoOrient') }).meta({ id: 'AutoOrient' });
export const flipSchema = z.strictObject({ type: z.literal('Flip') }).meta({ id: 'Flip' });
export const flopSchema = z.strictObject({ type: z.literal('Flop') }).meta({ id: 'Flop' });

// ---------------------------------------------------------------- colour

export const grayscaleSchema = z.strictObject({ type: z.literal('Grayscale') }).meta({ id: 'Grayscale' });
export const tintSchema = z
  .strictObject({ type: z.literal('Tint'), color: colorSchema })
  .meta({ id: 'Tint' });
export const modulateSchema = z
  .strictObject({
    type: z.literal('Modulate'),
    brightness: z.number().min(0).max(10).optional(),
    saturation: z.number().min(0).max(10).optional(),
    hue: z.number().int().min(-360).max(360).optional(),
    lightness: z.number().min(-100).max(100).optional(),
  })
  .meta({ id: 'Modulate' });
export const negateSchema = z
  .strictObject({ type: z.literal('Negate'), alpha: z.boolean().optional() })
  .meta({ id: 'Negate' });
export const normalizeSchema = z
  .strictObject({
    type: z.literal('Normalize'),
    lower: z.number().min(0).max(99).optional(),
    upper: z.number().min(1).max(100).optional(),
  })
  .meta({ id: 'Normalize' });
export const gammaSchema = z
  .strictObject({
    type: z.literal('Gamma'),
    gamma: z.number().min(1).max(3).optional(),
    gammaOut: z.number().min(1).max(3).optional(),
  })
  .meta({ id: 'Gamma' });
export const linearSchema = z
  .strictObject({
    type: z.literal('Linear'),
    /** Multiplier (contrast). */
    a: z.number().min(0).max(10).optional(),
    /** Offset (brightness), in 0..255 units. */
    b: z.number().min(-255).max(255).optional(),
  })
  .meta({ id: 'Linear' });
export const claheSchema = z
  .strictObject({
    type: z.literal('Clahe'),
    width: z.number().int().min(1).max(1024),
    height: z.number().int().min(1).max(1024),
    maxSlope: z.number().int().min(0).max(100).optional(),
  })
  .meta({ id: 'Clahe' });
export const thresholdSchema = z
  .strictObject({
    type: z.literal('Threshold'),
    threshold: z.number().int().min(0).max(255).optional(),
    grayscale: z.boolean().optional(),
  })
  .meta({ id: 'Threshold' });
export const flattenSchema = z
  .strictObject({
    type: z.literal('Flatten'),
    background: colorSchema.optional(),
  })
  .meta({ id: 'Flatten' });
export const removeAlphaSchema = z
  .strictObject({ type: z.literal('RemoveAlpha') })
  .meta({ id: 'RemoveAlpha' });

// ---------------------------------------------------------------- filters

export const blurSchema = z
  .strictObject({
    type: z.literal('Blur'),
    sigma: z.number().min(0.3).max(1000).optional(),
  })
  .meta({ id: 'Blur' });
export const sharpenSchema = z
  .strictObject({
    type: z.literal('Sharpen'),
    sigma: z.number().min(0.000001).max(10).optional(),
    flat: z.number().min(0).max(1_000_000).optional(),
    jagged: z.number().min(0).max(1_000_000).optional(),
  })
  .meta({ id: 'Sharpen' });
export const medianSchema = z
  .strictObject({
    type: z.literal('Median'),
    size: z.number().int().min(1).max(99).optional(),
  })
  .meta({ id: 'Median' });

// ---------------------------------------------------------------- composition

export const watermarkSchema = z
  .strictObject({
    type: z.literal('Watermark'),
    storage: connectionName.optional(),
    bucket: bucketName,
    key: objectKey,
    gravity: gravity.optional(),
    /** Pixel offset from the top-left corner; overrides gravity when given. */
    left: offset.optional(),
    top: offset.optional(),
    opacity: z.number().min(0).max(1).optional(),
    tile: z.boolean().optional(),
    /** Overlay width as a fraction of the image width (keeps its aspect ratio). */
    scale: z.number().gt(0).max(1).optional(),
  })
  .meta({ id: 'Watermark' });

/** Fonts the test tooling and the container image install (Debian's fonts-dejavu-core). */
export const defaultTextFont = 'DejaVu Sans';

export const textSchema = z
  .strictObject({
    type: z.literal('Text'),
    text: z
      .string()
      .min(1)
      .max(2000)
      .regex(withoutNulPattern)
      .describe('The text to draw: plain text (no markup); line breaks start new lines.')
      .meta({ examples: ['© 2026 Ada Lovelace'] }),
    font: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9 -]{0,99}$/)
      .optional()
      .describe(
        'Font family installed on the server, optionally with a style, e.g. "DejaVu Serif Bold"; an unknown ' +
          `family falls back to the server's default sans-serif. Default: "${defaultTextFont}".`,
      )
      .meta({ examples: ['DejaVu Sans Bold'] }),
    size: z
      .number()
      .int()
      .min(4)
      .max(1000)
      .optional()
      .describe('Font size in pixels. Default: 32.')
      .meta({ examples: [48] }),
    color: colorSchema
      .optional()
      .describe('Text colour, #rrggbb or #rrggbbaa (alpha for translucent text). Default: "#ffffff".')
      .meta({ examples: ['#ffffffcc'] }),
    background: colorSchema
      .optional()
      .describe('Colour of a box drawn behind the text, #rrggbb or #rrggbbaa. Default: none.')
      .meta({ examples: ['#00000080'] }),
    padding: offset
      .optional()
      .describe('Space between the text and the edge of its box, in pixels. Default: a quarter of size.')
      .meta({ examples: [8] }),
    width: dimension
      .optional()
      .describe('Wrapping width in pixels; longer lines wrap at words. Default: the image width.')
      .meta({ examples: [600] }),
    align: z
      .enum(['left', 'center', 'right'])
      .optional()
      .describe('Alignment of wrapped lines. Default: "left".'),
    gravity: gravity
      .optional()
      .describe('Where the text box goes when left/top are not given. Default: "southeast".')
      .meta({ examples: ['south'] }),
    left: offset
      .optional()
      .describe('Offset of the text box from the left edge; overrides gravity. Default: none.'),
    top: offset
      .optional()
      .describe('Offset of the text box from the top edge; overrides gravity. Default: none.'),
  })
  .describe(
    'Draws text over the image (Pango, with the fonts installed on the server). Several Text and Watermark ' +
      'units in one chain are drawn in order, each over the result of the ones before.',
  )
  .meta({ id: 'Text' });

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
