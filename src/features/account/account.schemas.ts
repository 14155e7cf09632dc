/** The account's throttle, as read and changed at `/v1/account/throttle`. */
import { z } from 'zod';
import { MAX_TRANSFORMS_PER_HOUR } from '../../core/throttle/throttle-schedule.js';

const transformsPerHourDescription =
  'Graph runs that may start in any rolling window of `windowSeconds` (one hour unless the server is configured otherwise). One transform is one graph run.';

export const throttleSettingsSchema = z
  .strictObject({
    transformsPerHour: z.number().int().describe(transformsPerHourDescription),
    windowSeconds: z.number().describe('Length of the rolling window, set in server config (read-only).'),
  })
  .meta({ id: 'ThrottleSettings' });
export type ThrottleSettingsResponse = z.infer<typeof throttleSettingsSchema>;

export const throttleUpdateSchema = z
  .strictObject({
    transformsPerHour: z
      .number()
      .int()
      .min(1)
      .max(MAX_TRANSFORMS_PER_HOUR)
      .describe(transformsPerHourDescription),
    windowSeconds: z
      .number()
      .optional()
      .describe('Read-only: accepted only when equal to the current value, so a GET body can be sent back.'),
  })
  .meta({ id: 'ThrottleUpdate' });
export type ThrottleUpdate = z.infer<typeof throttleUpdateSchema>;
