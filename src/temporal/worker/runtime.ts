/**
 * Installs Temporal's process-wide runtime once, with our log level and signal handling.
 * Must run before the first NativeConnection or Worker is created.
 */
import { formatWithOptions } from 'node:util';
import { DefaultLogger, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';

/**
 * One line per entry: `<ISO time> [LEVEL] message {attributes}`. The SDK's own format breaks attributes
 * over many lines; only an error's stack (a bug: expected failures are logged without one) still spans
 * several.
 */
export function formatLogEntry(entry: LogEntry): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const meta =
    entry.meta === undefined || Object.keys(entry.meta).length === 0
      ? ''
      : ` ${formatWithOptions({ breakLength: Infinity, compact: true }, '%O', entry.meta)}`;
  return `${time} [${entry.level}] ${entry.message}${meta}`;
}

let installed = false;

export interface RuntimeSetup {
  level?: LogLevel;
  /** Signals on which Temporal shuts workers down by itself; [] when the caller handles shutdown. */
  shutdownSignals?: NodeJS.Signals[];
  /**
   * `host:port` where the SDK's own Prometheus exporter listens (`temporal_*` metrics, durations in
   * seconds); none when omitted. The worker's /metrics serves them together with its own
   * (metrics-endpoint.ts), so this is a loopback address that nothing else scrapes.
   */
  sdkMetricsAddress?: string;
}

/** Whether the runtime was installed with the SDK's Prometheus exporter, and where it listens. */
let sdkMetrics: string | undefined;
export function installedSdkMetricsAddress(): string | undefined {
  return sdkMetrics;
}

export function installTemporalRuntime(setup: RuntimeSetup = {}): void {
  if (installed) return;
  installed = true;
  const level = setup.level ?? 'WARN';
  sdkMetrics = setup.sdkMetricsAddress;
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => process.stderr.write(`${formatLogEntry(entry)}\n`)),
    telemetryOptions: {
      logging: { filter: { core: level === 'DEBUG' || level === 'TRACE' ? level : 'ERROR', other: 'ERROR' } },
      // Counters keep the SDK's documented names (no `_total`); durations in seconds, as ours are.
      ...(setup.sdkMetricsAddress
        ? {
            metrics: {
              prometheus: { bindAddress: setup.sdkMetricsAddress, useSecondsForDurations: true },
            },
          }
        : {}),
    },
    ...(setup.shutdownSignals ? { shutdownSignals: setup.shutdownSignals } : {}),
  });
}
