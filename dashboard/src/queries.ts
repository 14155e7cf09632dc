/** Queries more than one page shares (same keys, so one fetch serves them all). */
import { useQuery } from '@tanstack/react-query';
import { client } from './api';

export const useAccount = () =>
  useQuery({ queryKey: ['account'], queryFn: ({ signal }) => client.account.get({ signal }) });

/** The last 24 hours of usage, per hour (the API's default range). */
export const useUsage = () =>
  useQuery({
    queryKey: ['usage', 'hour'],
    queryFn: ({ signal }) => client.account.usage({ granularity: 'hour', signal }),
    refetchInterval: 60_000,
  });

/** The running batches (first page): what waits on the throttle. */
export const useRunningBatches = () =>
  useQuery({
    queryKey: ['batches', { state: 'running', pageSize: 100 }],
    queryFn: ({ signal }) => client.batches.listPage({ state: 'running', pageSize: 100, signal }),
    refetchInterval: 15_000,
  });

/** Graphs of the running batches not started yet: queued plus throttled. */
export function waitingGraphs(batches: readonly { counts: Record<string, number | undefined> }[]): number {
  return batches.reduce((sum, batch) => sum + (batch.counts.throttled ?? 0) + (batch.counts.queued ?? 0), 0);
}
