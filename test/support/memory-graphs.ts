import type { BatchGraphSource } from '../../src/temporal/activities/index.js';
import type { TransformGraph } from '../../src/core/graph/graph.js';

/** Batch graphs held in memory, standing in for the PostgreSQL tables in engine-level tests. */
export class MemoryGraphSource implements BatchGraphSource {
  private readonly batches = new Map<string, TransformGraph[]>();
  /** Resolves when released; lets a test hold a graph's activity in flight. */
  readonly gates = new Map<string, Promise<void>>();

  put(accountId: string, batchId: string, graphs: TransformGraph[]): void {
    this.batches.set(`${accountId}/${batchId}`, graphs);
  }

  async getBatchGraph(
    accountId: string,
    batchId: string,
    index: number,
  ): Promise<TransformGraph | undefined> {
    await this.gates.get(`${accountId}/${batchId}/${index}`);
    return this.batches.get(`${accountId}/${batchId}`)?.[index];
  }

  async listBatchGraphs(accountId: string, batchId: string): Promise<TransformGraph[]> {
    return Promise.resolve(this.batches.get(`${accountId}/${batchId}`) ?? []);
  }
}
