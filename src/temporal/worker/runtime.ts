/**
 * Installs Temporal's process-wide runtime once, with our log level and signal handling.
 * Must run before the first NativeConnection or Worker is created.
 */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

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
    logger: new DefaultLogger(level),
    telemetryOptions: {
      logging: { filter: { core: level === 'DEBUG' || level === 'TRACE' ? level : 'ERROR', other: 'ERROR' } },
    },
    ...(setup.shutdownSignals ? { shutdownSignals: setup.shutdownSignals } : {}),
  });
}
