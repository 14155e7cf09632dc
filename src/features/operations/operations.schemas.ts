/** Liveness and readiness answers. */
import { z } from 'zod';

export const healthSchema = z.strictObject({ status: z.literal('ok') }).meta({ id: 'Health' });

export const readinessSchema = z
  .strictObject({
    status: z.enum(['ready', 'unavailable']),
    checks: z.strictObject({ database: z.enum(['ok', 'failed']), orchestrator: z.enum(['ok', 'failed']) }),
  })
  .meta({ id: 'Readiness' });
export type Readiness = z.infer<typeof readinessSchema>;
