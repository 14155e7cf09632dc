import { z } from 'zod';
import { limits, transformUnitSchema, type TransformUnit } from './units.js';

export interface TransformGraph {
  transformUnits: TransformUnit[];
  outputs?: TransformGraph[];
}

/** A graph: ordered units, then optional child graphs that continue from the end of these units. */
export const transformGraphSchema: z.ZodType<TransformGraph> = z
  .lazy(() =>
    z.strictObject({
      transformUnits: z.array(transformUnitSchema),
      outputs: z.array(transformGraphSchema).optional(),
    }),
  )
  .meta({ id: 'TransformGraph' });

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
