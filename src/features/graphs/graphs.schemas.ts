/** The answer of the dry run, `POST /v1/graphs:validate`. */
import { z } from 'zod';

export const compiledChainSchema = z
  .strictObject({
    leaf: z.string().describe('JSON pointer of the graph node that ends this chain.'),
    units: z.array(z.string()).describe('Unit types from the source to the sink, in order.'),
  })
  .meta({ id: 'CompiledChain' });

export const graphValidationResponseSchema = z
  .strictObject({
    valid: z.literal(true),
    chains: z.array(compiledChainSchema),
  })
  .meta({ id: 'GraphValidationResponse' });
export type GraphValidationResponse = z.infer<typeof graphValidationResponseSchema>;
