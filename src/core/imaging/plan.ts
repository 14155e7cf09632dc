/**
 * The plan compiler (docs/architecture.md §5): a valid Transform Graph becomes a tree of stages, each stage being work
 * one sharp pipeline does in graph order. Pure: plain JSON in, plain JSON out, no sharp, no I/O.
 *
 * - A chain's operations fill a stage until the next one would be reordered or repeated by sharp
 *   (stage-order.ts); then a new stage starts. Stages hand off raw pixels.
 * - Outputs continue from the end of their parent: a child's stages hang below the parent's last stage,
 *   so branches share their common prefix. `joinsParent` records that a child's first stage could also
 *   run in the parent's pipeline, which lets the executor re-decode per branch instead (see execute.ts).
 * - Each leaf is one encode (ImageFormat) and one StorageSink; every unit keeps its JSON pointer so that
 *   errors can name it.
 */
import { ClassifiedError } from '../errors.js';
import {
  DEFAULT_CONNECTION,
  isOperation,
  pointer,
  type ImageFormat,
  type Operation,
  type StorageSink,
  type StorageSource,
  type TransformGraph,
} from '../graph/index.js';
import { canExtend, refusal, slotFor, type Slot, type StagedOp } from './stage-order.js';

export interface PlanSource {
  unit: string;
  connection: string;
  bucket: string;
  key: string;
  versionId?: string;
  /** Apply EXIF orientation while decoding (docs/architecture.md §4: output is upright unless the graph says otherwise). */
  autoOrient: boolean;
  page?: number;
}

export interface PlanOp extends StagedOp {
  unit: string;
  slot: Slot;
  op: Operation;
}

export interface PlanStage {
  kind: 'stage';
  id: string;
  ops: PlanOp[];
  /** This stage's operations could run in the same sharp pipeline as its parent's. */
  joinsParent: boolean;
  children: PlanNode[];
}

export interface PlanOutput {
  kind: 'output';
  id: string;
  format: { unit: string; spec: ImageFormat };
  sink: { unit: string; connection: string; spec: StorageSink };
}

export type PlanNode = PlanStage | PlanOutput;

export interface Plan {
  source: PlanSource;
  /** The root chain's stages start here; it holds no operations when the root chain has none. */
  root: PlanStage;
  outputCount: number;
}

interface Counters {
  stages: number;
  outputs: number;
}

export function compilePlan(graph: TransformGraph): Plan {
  const first = graph.transformUnits[0];
  if (first?.type !== 'StorageSource') {
    throw new ClassifiedError('invalid_graph', 'Expected a StorageSource for the first unit of the graph', {
      unit: pointer(['transformUnits', 0]),
    });
  }
  const source = planSource(first);
  const counters: Counters = { stages: 0, outputs: 0 };
  const root: PlanStage = newStage(counters, false);
  let oriented = source.autoOrient;

  // AutoOrient at the very start of the root chain applies to every branch: let the decoder do it.
  let startIndex = 1;
  while (graph.transformUnits[startIndex]?.type === 'AutoOrient') {
    source.autoOrient = true;
    oriented = true;
    startIndex += 1;
  }

  compileChain(graph, [], startIndex, root, oriented, counters, true);
  return { source, root, outputCount: counters.outputs };
}

function planSource(unit: StorageSource): PlanSource {
  return {
    unit: pointer(['transformUnits', 0]),
    connection: unit.storage ?? DEFAULT_CONNECTION,
    bucket: unit.bucket,
    key: unit.key,
    ...(unit.versionId === undefined ? {} : { versionId: unit.versionId }),
    autoOrient: unit.autoOrient !== false,
    ...(unit.page === undefined ? {} : { page: unit.page }),
  };
}

function newStage(counters: Counters, joinsParent: boolean): PlanStage {
  counters.stages += 1;
  return { kind: 'stage', id: `s${counters.stages}`, ops: [], joinsParent, children: [] };
}

/**
 * Compiles one node's units into stages below `parent` and recurses into its outputs.
 * The root chain's operations fill the (initially empty) root stage itself; a child's start fresh.
 */
function compileChain(
  node: TransformGraph,
  path: (string | number)[],
  startIndex: number,
  parent: PlanStage,
  orientedBefore: boolean,
  counters: Counters,
  isRoot: boolean,
): void {
  let oriented = orientedBefore;
  const ops: { unit: string; op: Operation }[] = [];
  let format: PlanOutput['format'] | undefined;
  let sink: PlanOutput['sink'] | undefined;

  node.transformUnits.forEach((unit, index) => {
    if (index < startIndex) return;
    const at = pointer([...path, 'transformUnits', index]);
    if (unit.type === 'ImageFormat') format = { unit: at, spec: unit };
    else if (unit.type === 'StorageSink')
      sink = { unit: at, connection: unit.storage ?? DEFAULT_CONNECTION, spec: unit };
    else if (isOperation(unit)) {
      // Once the pixels are upright, a further AutoOrient has nothing left to do.
      if (unit.type === 'AutoOrient') {
        if (oriented) return;
        oriented = true;
      }
      ops.push({ unit: at, op: unit });
    }
  });

  let last = parent;
  if (isRoot) {
    for (const planned of ops) last = place(last, planned, counters);
  } else if (ops.length) {
    const first = newStage(counters, false);
    last = first;
    for (const planned of ops) last = place(last, planned, counters);
    first.joinsParent = canExtend(
      parent.ops,
      first.ops.map((o) => o.op),
    );
    parent.children.push(first);
  }

  if (format && sink) {
    counters.outputs += 1;
    last.children.push({ kind: 'output', id: `o${counters.outputs}`, format, sink });
  }
  (node.outputs ?? []).forEach((child, index) =>
    compileChain(child, [...path, 'outputs', index], 0, last, oriented, counters, false),
  );
}

/** Adds an operation to `stage`, or to a new child stage when sharp would reorder or repeat it. */
function place(stage: PlanStage, planned: { unit: string; op: Operation }, counters: Counters): PlanStage {
  const target = refusal(stage.ops, planned.op) === undefined ? stage : newStage(counters, false);
  target.ops.push({ unit: planned.unit, slot: slotFor(planned.op, target.ops), op: planned.op });
  if (target !== stage) stage.children.push(target);
  return target;
}

/** Visits every output leaf in plan order. */
export function planOutputs(node: PlanNode): PlanOutput[] {
  if (node.kind === 'output') return [node];
  return node.children.flatMap(planOutputs);
}
