/**
 * Installs Temporal's process-wide runtime once, with our log level and signal handling.
 * Must run before the first NativeConnection or Worker is created.
 */
import { formatWithOptions } from 'node:util';
import { DefaultLogger, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';
import { isErrorCode } from '../../core/errors.js';

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

/**
 * The SDK logs every failed workflow ("Workflow failed") with its error. A graph that failed for a
 * classified reason (a corrupt upload, a missing object) is expected, not a bug: its error becomes
 * `code: message`, so the entry stays on one line. Any other error keeps its stack.
 *
 * The entry is logged in the workflow thread and reaches this process as a structured-clone copy: the
 * failure's type is gone, only its message and stack are left. The graph workflow therefore gives an
 * expected failure the one-line stack `code: message` (graph.ts), which is recognised here.
 */
function withoutExpectedStack(meta: LogEntry['meta']): LogEntry['meta'] {
  const error: unknown = meta?.error;
  if (!(error instanceof Error)) return meta;
  const type = (error as { type?: unknown }).type;
  if (isErrorCode(type)) return { ...meta, error: `${type}: ${error.message}` };
  const stack = error.stack ?? '';
  const code = stack.slice(0, stack.indexOf(': '));
  if (!stack.includes('\n') && isErrorCode(code)) return { ...meta, error: stack };
  return meta;
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
  /** Where each formatted entry goes (one line, without its newline); standard error by default. */
  write?: (line: string) => void;
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
  const write = setup.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  sdkMetrics = setup.sdkMetricsAddress;
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => write(formatLogEntry(entry))),
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
