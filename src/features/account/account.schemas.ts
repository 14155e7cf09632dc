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
        // A one-value enum, not `const`: openapi-python-client writes a const number into code it cannot compile cleanly (docs/clients.md).
        .meta({ enum: [windowSeconds] }),
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

export const usageGranularities = ['hour', 'day'] as const;
export type UsageGranularity = (typeof usageGranularities)[number];

export const usageQuerySchema = z.strictObject({
  granularity: z
    .enum(usageGranularities)
    .default('hour')
    .describe('Length of each bucket: a UTC hour or a UTC day.'),
  from: z.iso
    .datetime({ offset: true })
    .optional()
    .describe(
      'Start of the range (inclusive), with its offset; moved back to the start of its bucket. Default: 24 buckets before `to` (hour), 30 (day).',
    ),
  to: z.iso
    .datetime({ offset: true })
    .optional()
    .describe(
      'End of the range (exclusive), with its offset; moved on to the end of its bucket. Default: the end of the current bucket. At most 744 hourly buckets (31 days) or 366 daily ones.',
    ),
});
export type UsageQuery = z.output<typeof usageQuerySchema>;

const count = (description: string) => z.number().int().min(0).describe(description);

const usageFigures = {
  graphs: z
    .strictObject({
      succeeded: count('Graphs that ended succeeded.'),
      partial: count('Graphs that ended with some sinks written and some failed.'),
      failed: count('Graphs that ended failed.'),
      cancelled: count('Graphs cancelled (a cancelled batch’s graphs that never started included).'),
    })
    .describe('Graphs by the final state they reached in the bucket (counted when they ended).'),
  transforms: count('Graph runs started in the bucket: what the throttle counts.'),
  megapixelsRead: z.number().min(0).describe('Megapixels of the sources read (all frames), to 6 decimals.'),
  bytesWritten: count('Bytes of the outputs written to sinks.'),
};

export const usageBucketSchema = z
  .strictObject({
    start: z.string().describe('Start of the bucket (ISO 8601, UTC); the bucket is one hour or day long.'),
    ...usageFigures,
  })
  .meta({ id: 'UsageBucket' });

export const usageReportSchema = z
  .strictObject({
    granularity: z.enum(usageGranularities),
    from: z.string().describe('Start of the first bucket (ISO 8601, UTC).'),
    to: z.string().describe('End of the last bucket (ISO 8601, UTC), exclusive.'),
    buckets: z
      .array(usageBucketSchema)
      .describe('Every bucket of the range in order, those without usage as zeros.'),
    totals: z.strictObject(usageFigures).describe('The sums over every bucket.'),
  })
  .meta({ id: 'Usage' });
export type UsageReport = z.infer<typeof usageReportSchema>;
export type UsageFigures = UsageReport['totals'];

export const usageCsvSchema = z
  .string()
  .describe(
    'RFC 4180 CSV: a header line, then one line per bucket in order (empty buckets as zeros), CRLF line ends.',
  )
  .meta({
    example:
      'start,graphsSucceeded,graphsPartial,graphsFailed,graphsCancelled,transforms,megapixelsRead,bytesWritten\r\n2025-05-01T00:00:00.000Z,12,1,0,0,13,24.8832,1048576\r\n',
  });
