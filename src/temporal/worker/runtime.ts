/**
 * Installs Temporal's process-wide runtime once, with our log level and signal handling.
 * Must run before the first NativeConnection or Worker is created.
 */
import { formatWithOptions } from 'node:util';
import { DefaultLogger, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';
import { errorCodes } from '../../core/errors.js';

/**
 * One line per entry: `<ISO time> [LEVEL] message {attributes}`. The SDK's own format breaks attributes
 * over many lines; only an error's stack (a bug: expected failures are logged without one) still spans
 * several.
 */
export function formatLogEntry(entry: LogEntry): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const fields = withoutExpectedStack(entry.meta);
  const meta =
    fields === undefined || Object.keys(fields).length === 0
      ? ''
      : ` ${formatWithOptions({ breakLength: Infinity, compact: true }, '%O', fields)}`;
  return `${time} [${entry.level}] ${entry.message}${meta}`;
}

const expectedFailureTypes: ReadonlySet<string> = new Set(errorCodes);

/**
 * The SDK logs every failed workflow ("Workflow failed") with its error. A graph that failed for a
 * classified reason (a corrupt upload, a missing object) is expected, not a bug: its error becomes
 * `code: message`, so the entry stays on one line. Any other error keeps its stack.
 */
function withoutExpectedStack(meta: LogEntry['meta']): LogEntry['meta'] {
  const error: unknown = meta?.error;
  if (!(error instanceof Error)) return meta;
  const type = (error as { type?: unknown }).type;
  if (typeof type !== 'string' || !expectedFailureTypes.has(type)) return meta;
  return { ...meta, error: `${type}: ${error.message}` };
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
