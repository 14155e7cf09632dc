/** Durations as operators write them in configuration: one whole number and one unit. */
const durationUnits = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `3000ms`, `10s`, `5m`, `1h`, `1d`: one whole number and one unit, in milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,9})(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * durationUnits[match[2] as keyof typeof durationUnits];
}
