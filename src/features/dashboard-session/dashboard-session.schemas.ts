/** Bodies of the dashboard session endpoints (`/auth/...`). */
import { z } from 'zod';
import { MAX_PASSWORD_LENGTH } from '../../core/auth/passwords.js';
import { emailSchema } from '../../db/dashboard-users.js';

export const signInRequestSchema = z
  .strictObject({
    email: emailSchema.describe('The dashboard user’s email address (any case).'),
    password: z.string().min(1).max(MAX_PASSWORD_LENGTH),
  })
  .meta({ id: 'SignInRequest' });
export type SignInRequest = z.infer<typeof signInRequestSchema>;

export const dashboardSessionSchema = z
  .strictObject({
    user: z.strictObject({
      id: z.string().describe('The dashboard user’s id (`usr_…`).'),
      email: z.string(),
      accountId: z.string().describe('The account every `/v1` request of this session acts in.'),
    }),
    csrfToken: z
      .string()
      .describe(
        'Send it as `X-CSRF-Token` (with an `Origin` of this server) on every request that changes state.',
      ),
    expiresAt: z.iso
      .datetime()
      .describe(
        'When the session ends unless it is used before (idle expiry), never later than its absolute expiry.',
      ),
  })
  .meta({ id: 'DashboardSession' });
export type DashboardSessionResponse = z.infer<typeof dashboardSessionSchema>;
