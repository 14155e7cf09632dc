/** The account as `/v1/account` shows it, and its throttle as read and changed at `/v1/account/throttle`. */
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

export const accountSchema = z
  .strictObject({
    accountId: z.string().describe('The account the access token belongs to.'),
    throttle: throttleSettingsSchema,
    activeKeyCount: z
      .number()
      .int()
      .min(0)
      .describe('API key pairs not revoked (revoked ones are kept for the record).'),
    keyCount: z.number().int().min(0).describe('Every API key pair, revoked ones included.'),
  })
  .meta({ id: 'Account' });
export type AccountResponse = z.infer<typeof accountSchema>;
