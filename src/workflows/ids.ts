/** Deterministic workflow IDs (DESIGN §7): the ID is the deduplication key and what operators search for. */
export function batchWorkflowId(accountId: string, batchId: string): string {
  return `batch/${accountId}/${batchId}`;
}

export function graphWorkflowId(accountId: string, batchId: string, index: number): string {
  return `graph/${accountId}/${batchId}/${index}`;
}

/**
 * A graph run started by an inbound hook: the sender's `webhook-id` makes a redelivered message start
 * nothing twice. The id is checked (at most 256 visible characters) before it gets here.
 */
export function hookWorkflowId(accountId: string, hookId: string, webhookId: string): string {
  return `hook/${accountId}/${hookId}/${webhookId}`;
}
