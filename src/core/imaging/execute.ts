/**
 * Runs a compiled plan with sharp (docs/architecture.md §5): walks the stage tree, decides per fork whether branches
 * re-decode the source or share the fork's raw pixels, encodes each leaf and writes it to its sink.
 */
import sharp, { type OutputInfo } from 'sharp';
import { isClassifiedError, type ClassifiedError } from '../errors.js';
import type { ExecuteDeps, GraphResult, SinkFailure, SinkResult } from './execute-graph.js';
import {
  classifyPipelineError,
  classifySourceError,
  forUnit,
  isSourceFailure,
  unitError,
  type UnitRef,
} from './classify.js';
import { parseColour, white, type Rgba } from './colours.js';
import { encodeWithinBudget } from './budget.js';
import { encode, flattenColourFor, mimeTypes, outputFormatOf, wantsAnimation } from './encode.js';
import { createOverlaySource, type OverlaySource } from './ops-composite.js';
import { buildPipeline, failOn, interleave, type RawInput, type StageInput } from './pipeline.js';
import {
  planOutputs,
  type Plan,
  type PlanNode,
  type PlanOp,
  type PlanOutput,
  type PlanStage,
} from './plan.js';
import { provenanceMetadata, type Provenance } from './provenance.js';
import type { LoadedSource } from './source.js';
import { inSpan } from '../telemetry/spans.js';
import { canExtend, type Slot } from './stage-order.js';

interface Run {
  plan: Plan;
  source: LoadedSource;
  deps: RunDeps;
  overlays: OverlaySource;
  outcomes: Map<string, { result: SinkResult } | { failure: SinkFailure; error: ClassifiedError }>;
  /** Whether the source decodes on its own: checked once, only after a pipeline that read it failed. */
  sourceCheck?: Promise<ClassifiedError | undefined>;
}

/** What the branch above a node has done that later steps depend on. */
interface PathState {
  /** Background of the branch's last Flatten: JPEG outputs flatten onto it (else white). */
  lastFlatten: Rgba | undefined;
}

type RunDeps = ExecuteDeps & { maxInputPixels: number; provenance: Provenance };

export async function executePlan(plan: Plan, source: LoadedSource, deps: RunDeps): Promise<GraphResult> {
  const run: Run = {
    plan,
    source,
    deps,
    overlays: createOverlaySource(deps.stores, {
      heic: deps.heic !== false,
      maxInputPixels: deps.maxInputPixels,
      ...(deps.signal ? { signal: deps.signal } : {}),
    }),
    outcomes: new Map(),
  };
  const input: StageInput = {
    kind: 'source',
    source,
    autoOrient: plan.source.autoOrient,
    page: source.page,
  };
  // Cancellation is checked between stages and before each write (a branch that sees it rejects the
  // whole run); once every write is done, the result stands.
  await runStage(run, plan.root, input, [], { lastFlatten: undefined });

  const sinks: SinkResult[] = [];
  const failures: SinkFailure[] = [];
  let transient: ClassifiedError | undefined;
  for (const output of planOutputs(plan.root)) {
    const outcome = run.outcomes.get(output.id);
    if (!outcome) continue;
    if ('result' in outcome) sinks.push(outcome.result);
    else {
      failures.push(outcome.failure);
      if (outcome.error.code === 'transient') transient ??= outcome.error;
    }
  }
  // Retry the whole graph: the sinks that succeeded are rewritten with the same bytes.
  if (transient) throw transient;
  const frames = source.animatable ? source.pages : 1;
  return {
    sinks,
    failures,
    sourcePixels: source.storedWidth * source.storedHeight * frames,
    sourceBytes: source.info.size,
  };
}

// ------------------------------------------------------------------ walking the tree

/** One stage of the tree in its own span (`imaging.stage`): its encodes, uploads and child stages are inside. */
function runStage(
  run: Run,
  stage: PlanStage,
  input: StageInput,
  prefix: readonly PlanOp[],
  path: PathState,
): Promise<void> {
  const attributes = {
    'pixelshift.stage': stage.id,
    'pixelshift.stage.operations': stage.ops.map((o) => o.op.type),
    'pixelshift.stage.input': input.kind,
  };
  return inSpan('imaging.stage', attributes, () => runStageBody(run, stage, input, prefix, path));
}

async function runStageBody(
  run: Run,
  stage: PlanStage,
  input: StageInput,
  prefix: readonly PlanOp[],
  path: PathState,
): Promise<void> {
  run.deps.signal?.throwIfAborted();
  const ops = [...prefix, ...stage.ops];
  const after = pathAfter(path, stage.ops);
  const children = stage.children;
  report(run, stage.id);

  const only = children.length === 1 ? children[0] : undefined;
  if (only?.kind === 'output') return encodeOutput(run, input, ops, only, after);

  if (redecodePerBranch(run, input, ops, children)) {
    await settleAll(
      children.map((child) =>
        child.kind === 'output'
          ? encodeOutput(run, input, ops, child, after)
          : runStage(run, child, input, ops, after),
      ),
    );
    return;
  }

  let raw: RawInput;
  try {
    raw = await toRaw(
      run,
      input,
      ops,
      planOutputs(stage).some((o) => wantsAnimation(o.format.spec)),
    );
  } catch (error) {
    failBelow(run, stage, await classify(run, error, input, ops));
    return;
  }
  run.deps.signal?.throwIfAborted();
  await settleAll(
    children.map((child) => {
      const childInput = planOutputs(child).some((o) => wantsAnimation(o.format.spec))
        ? raw
        : firstFrame(raw);
      return child.kind === 'output'
        ? encodeOutput(run, childInput, [], child, after)
        : runStage(run, child, childInput, [], after);
    }),
  );
}

/** Slots after which sharp no longer shrinks while decoding (or that already shrink for everyone). */
const shrinkOnLoadBlockers: ReadonlySet<Slot> = new Set(['resize', 'trim', 'extractPre', 'gamma', 'rotate']);

/**
 * Whether each branch should decode the source again (running the shared operations itself) instead of
 * sharing the fork's raw pixels. Measured on the photo fixtures (2 cores, sharp 0.35), per image:
 * - nothing shared but the decode, three small outputs: re-decoding 41–73 ms vs raw hand-off 48–91 ms.
 *   Each branch's JPEG/WebP decoder shrinks while loading, and no full-size raw copy is held;
 * - shared greyscale, then a downscaling resize per branch: JPEG re-decode 31–44 ms vs raw 62–89 ms; but
 *   PNG (no shrink-on-load) 125 ms vs raw 69 ms, hence the format test;
 * - a shared resize, two encodes: raw 55–71 ms vs re-decode 70–97 ms: the raw hand-off wins whenever
 *   the shared work includes the expensive part (or stops shrink-on-load), or a branch cannot join.
 */
function redecodePerBranch(
  run: Run,
  input: StageInput,
  ops: readonly PlanOp[],
  children: PlanNode[],
): boolean {
  if (input.kind !== 'source') return false;
  const joinable = children.every(
    (child) =>
      child.kind === 'output' ||
      canExtend(
        ops,
        child.ops.map((o) => o.op),
      ),
  );
  if (!joinable) return false;
  if (ops.length === 0) return true;
  return (
    run.source.shrinkOnLoad &&
    !ops.some((o) => shrinkOnLoadBlockers.has(o.slot)) &&
    children.every(
      (child) =>
        child.kind === 'stage' &&
        child.ops.some((o) => o.slot === 'resize') &&
        !child.ops.some((o) => o.slot !== 'resize' && shrinkOnLoadBlockers.has(o.slot)),
    )
  );
}

function pathAfter(path: PathState, ops: readonly PlanOp[]): PathState {
  let lastFlatten = path.lastFlatten;
  for (const { op } of ops) {
    if (op.type === 'Flatten') lastFlatten = op.background === undefined ? white : parseColour(op.background);
  }
  return { lastFlatten };
}

/** Waits for every branch, then rethrows the first graph-level failure (source or cancellation). */
async function settleAll(branches: Promise<void>[]): Promise<void> {
  const settled = await Promise.allSettled(branches);
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejected) throw rejected.reason;
}

// ------------------------------------------------------------------ one pipeline

function refsOf(run: Run, input: StageInput, ops: readonly PlanOp[], output?: PlanOutput) {
  return {
    source: run.source.ref,
    ops: ops.map((o) => ({ unit: o.unit, type: o.op.type, slot: o.slot })),
    ...(output
      ? { format: { unit: output.format.unit, type: 'ImageFormat', format: output.format.spec.format } }
      : {}),
    maxInputPixels: run.deps.maxInputPixels,
    readsSource: input.kind === 'source',
  };
}

/**
 * Classifies a pipeline failure; graph-level ones (source, cancellation) are rethrown.
 * libvips keeps its error text in a process-wide buffer: when several pipelines fail at once, a decode
 * failure can surface as "Unknown error" and look like the fault of an operation. So before a failed
 * pipeline that read the source blames one of its steps, the source is decoded on its own, once per
 * graph; if that fails too, the source is what is broken and the whole graph fails with its code.
 */
async function classify(
  run: Run,
  error: unknown,
  input: StageInput,
  ops: readonly PlanOp[],
  output?: PlanOutput,
): Promise<ClassifiedError> {
  if (run.deps.signal?.aborted) throw run.deps.signal.reason;
  const classified = classifyPipelineError(error, refsOf(run, input, ops, output));
  if (isSourceFailure(classified, run.source.ref)) throw classified;
  if (input.kind === 'source') {
    run.sourceCheck ??= sharp(run.source.data, {
      failOn,
      limitInputPixels: run.deps.maxInputPixels,
      ...(run.source.animatable ? { pages: -1 } : {}),
    })
      .raw()
      .toBuffer()
      .then(
        () => undefined,
        (sourceError: unknown) => classifySourceError(sourceError, run.source.ref, run.deps.maxInputPixels),
      );
    const sourceFailure = await run.sourceCheck;
    if (sourceFailure) throw sourceFailure;
  }
  return classified;
}

async function toRaw(
  run: Run,
  input: StageInput,
  ops: readonly PlanOp[],
  animated: boolean,
): Promise<RawInput> {
  const build = () =>
    buildPipeline(
      input,
      ops,
      {
        animated: input.kind === 'source' && run.source.animatable && animated,
        maxInputPixels: run.deps.maxInputPixels,
        context: { opaqueOnto: undefined, overlays: run.overlays },
      },
      run.source.orientation,
    );
  const { data, info } = await (await build()).raw().toBuffer({ resolveWithObject: true });
  let pixels: Buffer = data;
  let channels = info.channels;
  if (channels === 1 && info.hasAlpha) {
    // sharp's raw output keeps only the first band after greyscale(); fetch the alpha band separately.
    const alpha = await (await build()).extractChannel('alpha').raw().toBuffer();
    pixels = interleave(data, alpha);
    channels = 2;
  }
  const pageHeight = info.pageHeight ?? info.height;
  return {
    kind: 'raw',
    data: pixels,
    width: info.width,
    height: info.height,
    channels,
    pageHeight,
    pages: Math.max(1, Math.round(info.height / pageHeight)),
  };
}

/** The first frame of an animation, for branches that end in a still image. */
function firstFrame(raw: RawInput): RawInput {
  if (raw.pages <= 1) return raw;
  return {
    ...raw,
    data: raw.data.subarray(0, raw.width * raw.pageHeight * raw.channels),
    height: raw.pageHeight,
    pages: 1,
  };
}

async function encodeOutput(
  run: Run,
  input: StageInput,
  ops: readonly PlanOp[],
  output: PlanOutput,
  path: PathState,
): Promise<void> {
  const format = output.format.spec;
  let encoded: Encoded;
  try {
    run.deps.signal?.throwIfAborted();
    encoded = await inSpan(
      'imaging.encode',
      { 'pixelshift.output': output.id, 'pixelshift.output.format': format.format },
      async (span) => {
        const done = await encodeBranch(run, input, ops, output, path);
        span.setAttributes({
          'pixelshift.output.bytes': done.data.length,
          'pixelshift.image.width': done.info.width,
          'pixelshift.image.height': done.info.pageHeight ?? done.info.height,
        });
        return done;
      },
    );
  } catch (error) {
    fail(run, output, await classify(run, error, input, ops, output));
    return;
  }
  run.deps.signal?.throwIfAborted();
  await writeSink(run, output, encoded);
}

async function encodeBranch(
  run: Run,
  input: StageInput,
  ops: readonly PlanOp[],
  output: PlanOutput,
  path: PathState,
): Promise<Encoded> {
  const format = output.format.spec;
  const animated = wantsAnimation(format) && (input.kind === 'raw' ? input.pages > 1 : run.source.animatable);
  const opaqueOnto = flattenColourFor(format, path.lastFlatten);
  const pipeline = await buildPipeline(
    input,
    ops,
    {
      animated,
      maxInputPixels: run.deps.maxInputPixels,
      context: { opaqueOnto, overlays: run.overlays },
    },
    run.source.orientation,
  );
  // JPEG has no alpha: flatten where sharp flattens (before resizing), unless the branch's own Flatten
  // already sits in that slot; fill colours added later in the pipeline were pre-blended (opaqueOnto).
  if (opaqueOnto && !ops.some((o) => o.slot === 'flatten')) {
    pipeline.flatten({ background: { r: opaqueOnto.r, g: opaqueOnto.g, b: opaqueOnto.b } });
  }
  const animation = animated ? { loop: run.source.loop, delay: run.source.delay } : undefined;
  const { maxBytes } = format;
  const metadata = {
    source: run.source.metadata,
    readsSource: input.kind === 'source' && run.source.metadataInData,
  };
  if (maxBytes === undefined) return encode(pipeline, format, animation, metadata);
  const formatRef = { unit: output.format.unit, type: 'ImageFormat' };
  return encodeWithinBudget(pipeline, { ...format, maxBytes }, animation, metadata, formatRef);
}

/** An encoded output; `quality` is the one a byte budget chose. */
interface Encoded {
  data: Buffer;
  info: OutputInfo;
  quality?: number;
}

async function writeSink(run: Run, output: PlanOutput, encoded: Encoded) {
  const { spec, connection, unit } = output.sink;
  const format = outputFormatOf(encoded.info.format, output.format.spec.format);
  try {
    const attributes = {
      'pixelshift.output': output.id,
      'pixelshift.storage.connection': connection,
      'pixelshift.storage.bucket': spec.bucket,
      'pixelshift.storage.key': spec.key,
      'pixelshift.output.bytes': encoded.data.length,
    };
    const put = await inSpan('imaging.upload', attributes, () =>
      run.deps.stores.get(connection).put(spec.bucket, spec.key, encoded.data, {
        contentType: spec.contentType ?? mimeTypes[format],
        ...(spec.cacheControl === undefined ? {} : { cacheControl: spec.cacheControl }),
        metadata: { ...spec.metadata, ...provenanceMetadata(run.deps.provenance), ...run.deps.sinkMetadata },
        ...(run.deps.signal ? { signal: run.deps.signal } : {}),
      }),
    );
    run.outcomes.set(output.id, {
      result: {
        bucket: spec.bucket,
        key: spec.key,
        storage: connection,
        bytes: put.bytes,
        format,
        width: encoded.info.width,
        height: encoded.info.pageHeight ?? encoded.info.height,
        etag: put.etag,
        ...(encoded.quality === undefined ? {} : { quality: encoded.quality }),
        provenance: run.deps.provenance,
      },
    });
    report(run, output.id);
  } catch (error) {
    if (run.deps.signal?.aborted) throw run.deps.signal.reason;
    const ref: UnitRef = { unit, type: 'StorageSink' };
    const attributed = forUnit(error, ref);
    // Stores classify their own failures; anything else is unexpected I/O, worth a retry.
    fail(
      run,
      output,
      isClassifiedError(attributed)
        ? attributed
        : unitError('transient', 'Writing the output failed unexpectedly', ref, error),
    );
  }
}

// ------------------------------------------------------------------ outcomes

function fail(run: Run, output: PlanOutput, error: ClassifiedError): void {
  const { spec, connection } = output.sink;
  run.outcomes.set(output.id, {
    failure: {
      bucket: spec.bucket,
      key: spec.key,
      storage: connection,
      error: {
        code: error.code,
        message: error.message,
        ...(error.unit === undefined ? {} : { unit: error.unit }),
      },
    },
    error,
  });
  report(run, output.id);
}

function failBelow(run: Run, stage: PlanStage, error: ClassifiedError): void {
  for (const output of planOutputs(stage)) fail(run, output, error);
}

function report(run: Run, stage: string): void {
  run.deps.onProgress?.({ stage, completedSinks: run.outcomes.size, totalSinks: run.plan.outputCount });
}
