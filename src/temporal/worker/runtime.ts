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
}

export function installTemporalRuntime(setup: RuntimeSetup = {}): void {
  if (installed) return;
  installed = true;
  const level = setup.level ?? 'WARN';
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => process.stderr.write(`${formatLogEntry(entry)}\n`)),
    telemetryOptions: {
      logging: { filter: { core: level === 'DEBUG' || level === 'TRACE' ? level : 'ERROR', other: 'ERROR' } },
    },
    ...(setup.shutdownSignals ? { shutdownSignals: setup.shutdownSignals } : {}),
  });
}
