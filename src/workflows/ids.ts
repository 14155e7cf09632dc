/** Deterministic workflow IDs (DESIGN §7): the ID is the deduplication key and what operators search for. */
export function batchWorkflowId(accountId: string, batchId: string): string {
  return `batch/${accountId}/${batchId}`;
}

export function graphWorkflowId(accountId: string, batchId: string, index: number): string {
  return `graph/${accountId}/${batchId}/${index}`;
}
