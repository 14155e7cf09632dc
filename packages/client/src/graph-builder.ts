/**
 * A builder for Transform Graphs that produces the exact contract, `type` discriminators included, and
 * checks every unit's options at compile time against the generated types:
 *
 *     source('photos', 'in/cat.jpg')
 *       .resize({ width: 1600 })
 *       .outputs((b) => [b.format('webp', { quality: 80 }).sink('photos', 'out/cat.webp')]);
 *
 * Chains are immutable: each call returns a new chain, so one prefix can start several branches.
 */
import type {
  ChildGraph,
  ImageFormat,
  StorageSink,
  StorageSource,
  TransformGraph,
  TransformUnit,
} from './generated/types.js';

/** Omit over each member of a union, so the options of units like Crop keep their alternatives. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The units between the source and the format. */
export type OperationUnit = Exclude<TransformUnit, { type: 'StorageSource' | 'ImageFormat' | 'StorageSink' }>;

/** A unit's options: everything but its `type`. */
export type UnitOptions<Unit> = DistributiveOmit<Unit, 'type'>;

/** Options may be left out only when the unit has no required option. */
type OptionsArgument<Unit> =
  Record<string, never> extends UnitOptions<Unit>
    ? [options?: UnitOptions<Unit>]
    : [options: UnitOptions<Unit>];

/** One method per operation unit, named after its type: `Resize` → `resize`, `AutoOrient` → `autoOrient`. */
export type Operations<Next> = {
  [Unit in OperationUnit as Uncapitalize<Unit['type']>]: (...options: OptionsArgument<Unit>) => Next;
};

/** ImageFormat's options besides the format itself. */
export type FormatOptions = DistributiveOmit<ImageFormat, 'type' | 'format'>;
/** StorageSink's options besides where it writes. */
export type SinkOptions = Omit<StorageSink, 'type' | 'bucket' | 'key'>;
/** StorageSource's options besides what it reads. */
export type SourceOptions = Omit<StorageSource, 'type' | 'bucket' | 'key'>;

/**
 * A chain of units that has not been written anywhere yet: add operations, then a format or branches. It
 * ends in a `TransformGraph` when it started at `source(...)`, in a `ChildGraph` (an entry of `outputs`,
 * which continues its parent's units) when it started as a branch.
 */
export interface GraphChain<Graph extends ChildGraph = TransformGraph> extends Operations<GraphChain<Graph>> {
  /** Encodes the image; a sink must follow. */
  format(format: ImageFormat['format'], options?: FormatOptions): FormattedChain<Graph>;
  /** Continues in several branches from here; each starts with `branch` and ends in a sink or more branches. */
  outputs(branches: (branch: GraphChain<ChildGraph>) => readonly ChildGraph[]): Graph;
}

/** A chain that ends with an ImageFormat: only a sink may follow. */
export interface FormattedChain<Graph extends ChildGraph = TransformGraph> {
  /** Writes the encoded image to `bucket`/`key` (on the connection `options.storage`, default otherwise). */
  sink(bucket: string, key: string, options?: SinkOptions): Graph;
}

/** Every operation unit, in the order the contract lists them. */
const operationTypes = [
  'Resize',
  'Crop',
  'AutoCrop',
  'Extend',
  'Rotate',
  'AutoOrient',
  'Flip',
  'Flop',
  'Grayscale',
  'Tint',
  'Modulate',
  'Negate',
  'Normalize',
  'Gamma',
  'Linear',
  'Clahe',
  'Threshold',
  'Flatten',
  'RemoveAlpha',
  'Blur',
  'Sharpen',
  'Median',
  'Watermark',
  'Text',
] as const satisfies readonly OperationUnit['type'][];

// Fails to compile when the contract gains an operation the list above lacks.
const everyOperationListed: Exclude<OperationUnit['type'], (typeof operationTypes)[number]> extends never
  ? true
  : never = true;
void everyOperationListed;

function chain<Graph extends ChildGraph>(units: readonly TransformUnit[]): GraphChain<Graph> {
  const operations = Object.fromEntries(
    operationTypes.map((type) => [
      type.charAt(0).toLowerCase() + type.slice(1),
      (options: object = {}) => chain([...units, { type, ...options } as TransformUnit]),
    ]),
  );
  return {
    ...operations,
    format: (format, options = {}) => ({
      sink: (bucket, key, sinkOptions = {}) => ({
        transformUnits: [
          ...units,
          { type: 'ImageFormat', format, ...options } as TransformUnit,
          { type: 'StorageSink', bucket, key, ...sinkOptions },
        ],
      }),
    }),
    outputs: (branches) => ({ transformUnits: [...units], outputs: [...branches(chain<ChildGraph>([]))] }),
  } as GraphChain<Graph>;
}

/** Starts a graph by reading `bucket`/`key` (on the connection `options.storage`, default otherwise). */
export function source(bucket: string, key: string, options: SourceOptions = {}): GraphChain {
  return chain<TransformGraph>([{ type: 'StorageSource', bucket, key, ...options }]);
}
