/**
 * One webhook delivery (`delivery/<eventId>/<target>`, docs/architecture.md §11): attempts on a durable
 * schedule of about three days until the receiver answers 2xx. 410 Gone disables the subscription and
 * stops; a target the outbound address policy refuses ends it at once as `refused` (the policy would
 * answer the same on every attempt); `Retry-After` on 429/503 replaces the next delay; a subscription
 * disabled meanwhile stops it. The attempt activity signs and sends; the signing secret never enters
 * this workflow's history.
 */
import {
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  sleep,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { AttemptResult } from '../activities/webhook-activities.js';
import { isLastAttempt, maxRetryAfterMs, nextDelayMs } from '../../core/webhooks/webhook-retry.js';
import {
  builtInDeliveryRetryScheduleMs,
  deliveryAttemptActivityOptions,
  retryScheduleActivityOptions,
} from './definitions.js';

type Activities = ReturnType<typeof createActivities>;

/** The patch that made deliveries read the webhooks worker's configured retry schedule. */
export const retryScheduleFromConfigPatch = 'retry-schedule-from-config';

export interface DeliveryWorkflowInput {
  deliveryId: string;
  /** "graph.succeeded → https://host/…" */
  summary: string;
}

/** The patch that ends a delivery at once when the address policy refused its target. */
export const refusedDeliveriesPatch = 'refused-deliveries';

export interface DeliveryWorkflowResult {
  state: 'succeeded' | 'failed' | 'disabled' | 'refused';
  attempts: number;
  lastStatus?: number;
}

export async function deliveryWorkflow(input: DeliveryWorkflowInput): Promise<DeliveryWorkflowResult> {
  const { webhookRetrySchedule } = proxyLocalActivities<Activities>(retryScheduleActivityOptions);
  const schedule = patched(retryScheduleFromConfigPatch)
    ? await webhookRetrySchedule()
    : builtInDeliveryRetryScheduleMs;
  const { attemptWebhookDelivery, failWebhookDelivery } = proxyActivities<Activities>({
    ...deliveryAttemptActivityOptions,
    summary: input.summary,
  });
  for (let attempt = 1; ; attempt += 1) {
    const final = isLastAttempt(schedule, attempt);
    setCurrentDetails(`attempt ${attempt} in progress`);
    let result: AttemptResult;
    try {
      result = await attemptWebhookDelivery({ deliveryId: input.deliveryId, final });
    } catch {
      // The activity itself failed (worker lost, database down): one failed attempt, not the end.
      result = { outcome: 'retry', error: 'the attempt could not run' };
    }
    const status = result.status === undefined ? {} : { lastStatus: result.status };
    if (result.outcome === 'succeeded') {
      setCurrentDetails(`delivered on attempt ${attempt} (${result.status})`);
      return { state: 'succeeded', attempts: attempt, ...status };
    }
    if (result.outcome === 'gone' || result.outcome === 'stopped') {
      setCurrentDetails(
        result.outcome === 'gone'
          ? 'receiver answered 410 Gone: subscription disabled'
          : 'subscription disabled',
      );
      return { state: 'disabled', attempts: attempt, ...status };
    }
    // Patched: a delivery recorded before refusals ended it kept retrying, and must replay that way.
    if (result.outcome === 'refused' && patched(refusedDeliveriesPatch)) {
      setCurrentDetails(`refused by the outbound address policy: ${result.error ?? ''}`);
      return { state: 'refused', attempts: attempt };
    }
    const retryAfter =
      result.retryAfterMs === undefined ? undefined : Math.min(result.retryAfterMs, maxRetryAfterMs);
    const delay = nextDelayMs(schedule, attempt, retryAfter);
    const why = result.status === undefined ? (result.error ?? 'error').split(':')[0] : String(result.status);
    if (delay === undefined) {
      if (result.attempt === undefined) await failWebhookDelivery({ deliveryId: input.deliveryId });
      setCurrentDetails(`gave up after attempt ${attempt} failed (${why})`);
      return { state: 'failed', attempts: attempt, ...status };
    }
    const nextAt = new Date(Date.now() + delay).toISOString();
    setCurrentDetails(`attempt ${attempt} failed (${why}), next at ${nextAt.slice(11, 19)} UTC`);
    await sleep(delay);
  }
}
