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

/**
 * A throttle change on a server whose window is `windowSeconds` long. The window is read-only: it is
 * accepted only when equal to the configured value, so a GET body can be sent back, and the document
 * states that value as a `const`.
 */
export function throttleUpdateSchemaFor(windowSeconds: number) {
  return z
    .strictObject({
      transformsPerHour: z
        .number()
        .int()
        .min(1)
        .max(MAX_TRANSFORMS_PER_HOUR)
        .describe(transformsPerHourDescription),
      windowSeconds: z
        .number()
        .refine((value) => value === windowSeconds, {
          message: `${windowSeconds} (set in server config, read-only)`,
        })
        .optional()
        .describe('Read-only: accepted only when equal to the current value, so a GET body can be sent back.')
        .meta({ const: windowSeconds }),
    })
    .meta({ id: 'ThrottleUpdate' });
}
export type ThrottleUpdateSchema = ReturnType<typeof throttleUpdateSchemaFor>;
export type ThrottleUpdate = z.infer<ThrottleUpdateSchema>;

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
