import { z } from 'zod';
import { limits, transformUnitSchema, type TransformUnit } from './units.js';

/** A graph: ordered units, then optional child graphs that continue from the end of these units. */
export interface TransformGraph {
  transformUnits: TransformUnit[];
  outputs?: TransformGraph[];
}

/**
 * A node's object: its own units, then the child graphs that continue from them. The root and its children
 * differ only in what their units must be.
 */
function graphNode(transformUnits: z.ZodArray<typeof transformUnitSchema>) {
  return z.strictObject({ transformUnits, outputs: z.array(childGraphSchema).optional() });
}

/**
 * An entry of `outputs` (the `ChildGraph` component). It continues its parent's chain, so it may have no
 * units of its own: a node that only branches again.
 */
export const childGraphSchema: z.ZodType<TransformGraph> = z
  .lazy(() => graphNode(z.array(transformUnitSchema)))
  .meta({
    id: 'ChildGraph',
    description:
      'An entry of a graph’s `outputs`: its units continue from the end of its parent’s units, and it may have none of its own (a node that only branches again). The StorageSource is the root’s alone.',
  });

/**
 * A graph as submitted and stored (the `TransformGraph` component): the root, whose first unit is the
 * StorageSource every chain starts from. An empty root is the chain rule `missing_source`, judged by
 * checkMeaning in validate.ts like a root that starts with another unit; the document states the part a
 * schema can (`minItems: 1`, as metadata, so that zod leaves it to that rule). That the first unit is a
 * StorageSource stays a rule of the server only: `prefixItems` would state it, but @hey-api/openapi-ts
 * 0.95 reads `prefixItems` with `items` as a closed tuple (`[StorageSource, TransformUnit]`, exactly two
 * units), which would make the SDK's type refuse nearly every graph.
 */
export const transformGraphSchema = graphNode(z.array(transformUnitSchema).meta({ minItems: 1 })).meta({
  id: 'TransformGraph',
  description:
    'A graph to run: its first unit is the StorageSource every chain starts from (`missing_source` otherwise), then operations, then an ImageFormat and a StorageSink, or `outputs` that each continue from there.',
});

export const batchInputSchema = z
  .strictObject({
    graphs: z.array(transformGraphSchema).min(1).max(limits.maxGraphsPerBatch),
    /** Called with signed events when each graph and the batch finish. */
    callbackUrl: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
  })
  .meta({ id: 'BatchRequest' });
export type BatchInput = z.infer<typeof batchInputSchema>;
