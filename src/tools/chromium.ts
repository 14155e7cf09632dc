/**
 * Debian's Chromium for the dashboard's browser tests and bench (docs/dashboard.md, "Testing"): found at
 * `PIXELSHIFT_CHROMIUM` or /usr/bin/chromium, installed with apt-get when missing (as root, like
 * PostgreSQL in scripts/postgres.ts), launched headless by playwright-core with the flags below.
 */
import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { existsSync } from 'node:fs';

const debianChromium = '/usr/bin/chromium';

/**
 * Flags for a headless Chromium on a machine with no network and no GPU: no sandbox (containers run as
 * root), and nothing that phones home (QUIC, component updates, sync, background fetches) or waits on
 * a first-run dialog.
 */
export const chromiumArgs: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The Chromium binary (`PIXELSHIFT_CHROMIUM`, else Debian's), if it exists. */
export function findChromium(): string | undefined {
  const override = process.env.PIXELSHIFT_CHROMIUM;
  if (override) return existsSync(override) ? override : undefined;
  return existsSync(debianChromium) ? debianChromium : undefined;
}

/**
 * The Chromium binary, installing Debian's `chromium` package once when it is missing and we are root on
 * a Debian machine; elsewhere the error says how to install it.
 */
export function ensureChromium(): string {
  const found = findChromium();
  if (found) return found;
  const hint = `no Chromium at ${process.env.PIXELSHIFT_CHROMIUM ?? debianChromium}: apt-get install -y --no-install-recommends chromium (or set PIXELSHIFT_CHROMIUM)`;
  if (process.env.PIXELSHIFT_CHROMIUM || process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    throw new Error(hint);
  }
  const apt: ExecFileSyncOptions = {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  };
  try {
    execFileSync('apt-get', ['update'], apt);
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], apt);
  } catch (error) {
    throw new Error(`${hint} (installing it failed)`, { cause: error });
  }
  const installed = findChromium();
  if (!installed) throw new Error(hint);
  return installed;
}
