/**
 * What `pixelshift doctor` reports: one finding per check, in plain words, with what to do when it is a
 * problem. Every check runs under a deadline, so a dependency that never answers is a finding, not a hang.
 */

export interface Finding {
  /** What was checked: `configuration`, `database`, `temporal`, `storage <connection> <bucket>`. */
  check: string;
  ok: boolean;
  /** Stable identifier of the problem (`migrations_pending`, `storage_put_failed`…); absent when ok. */
  code?: string;
  /** What was found. */
  summary: string;
  /** What to do about it; absent when ok. */
  action?: string;
}

export function okFinding(check: string, summary: string): Finding {
  return { check, ok: true, summary };
}

export function problemFinding(check: string, code: string, summary: string, action: string): Finding {
  return { check, ok: false, code, summary, action };
}

/** The text of whatever was thrown, for a summary. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}

/**
 * Runs one check with an abort signal that fires at the deadline; a check still running then yields
 * `timedOut()` instead (it is abandoned, its signal aborted so that it can stop early). A check that
 * throws what it did not foresee yields `failed(error)`, so that one broken check never hides the others.
 */
export async function withinDeadline<T>(
  deadlineMs: number,
  check: (signal: AbortSignal) => Promise<T>,
  timedOut: () => T,
  failed: (error: unknown) => T,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<T>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve(timedOut());
    }, deadlineMs);
  });
  try {
    return await Promise.race([check(controller.signal).catch(failed), expired]);
  } finally {
    clearTimeout(timer);
  }
}
