/**
 * Webhook identifiers. Event and delivery ids are derived, not random: a retried emission (activity
 * retry, workflow replay) computes the same ids, so it can never store or deliver an event twice.
 */
import { createHash } from 'node:crypto';
import { randomToken } from '../ids.js';

export const subscriptionIdPattern = /^wh_[0-9a-hjkmnp-tv-z]{26}$/;
export const deliveryIdPattern = /^dlv_[0-9a-f]{32}$/;

export function newSubscriptionId(): string {
  return `wh_${randomToken(16)}`;
}

/** `evt_…` from the emitting workflow run and the event type. */
export function eventIdFor(workflowId: string, runId: string, type: string): string {
  return `evt_${sha256(`${workflowId}\n${runId}\n${type}`).slice(0, 32)}`;
}

/** `delivery/<eventId>/<subscriptionId or "callback">`, plus `/redeliver-<n>` for a replay. */
export function deliveryWorkflowIdFor(eventId: string, target: string, redelivery?: number): string {
  return `delivery/${eventId}/${target}${redelivery === undefined ? '' : `/redeliver-${redelivery}`}`;
}

export function deliveryIdFor(workflowId: string): string {
  return `dlv_${sha256(workflowId).slice(0, 32)}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
