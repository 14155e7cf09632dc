/**
 * The dashboard's build: `ensureDashboardBuilt()` builds dashboard/ with Vite's JS API when its output is
 * missing or was built from other sources (a hash of dashboard/'s sources, the SDK's source and the Vite
 * config, recorded beside the output), so a fresh clone's `npm start` serves it with no extra command.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root (src/app and dist/app are both two levels below it). */
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Where the dashboard's sources are. */
export const dashboardSourceDir = path.join(repoRoot, 'dashboard');
/** Where the API process serves the dashboard from by default. */
export const defaultDashboardDist = path.join(dashboardSourceDir, 'dist');
/** The file in the output that records the hash of the sources it was built from (a dotfile: never served). */
export const buildHashFile = '.source-hash';

/** The folders and files whose content decides the build. */
const hashedRoots = [dashboardSourceDir, path.join(repoRoot, 'packages', 'client', 'src')];

/** A hash over every source file of the dashboard (paths and contents), in a stable order. */
export async function dashboardSourceHash(): Promise<string> {
  const hash = createHash('sha256');
  for (const root of hashedRoots) {
    for (const file of await sourceFiles(root)) {
      hash.update(path.relative(repoRoot, file)).update('\0');
      hash.update(await readFile(file)).update('\0');
    }
  }
  return hash.digest('hex');
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'dist' || entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      files.push(...(await sourceFiles(full)));
    } else if (entry.isFile() && !entry.name.endsWith('.md')) files.push(full);
  }
  return files;
}

export interface EnsureDashboardOptions {
  /** Where to build (default dashboard/dist). */
  outDir?: string;
  /** Builds even when the recorded hash matches. */
  force?: boolean;
  /** Progress lines ("building the dashboard…"). */
  log?: (line: string) => void;
}

/** Builds the dashboard when its output is missing or stale; answers whether it built and where the output is. */
export async function ensureDashboardBuilt(
  options: EnsureDashboardOptions = {},
): Promise<{ built: boolean; outDir: string }> {
  const outDir = path.resolve(options.outDir ?? defaultDashboardDist);
  // An image that ships only the build (no sources) serves it as it is.
  if (!existsSync(path.join(dashboardSourceDir, 'index.html'))) return { built: false, outDir };
  const sourceHash = await dashboardSourceHash();
  if (
    !options.force &&
    (await recordedHash(outDir)) === sourceHash &&
    existsSync(path.join(outDir, 'index.html'))
  )
    return { built: false, outDir };
  options.log?.('building the dashboard (dashboard/ changed or was never built)…');
  // Built beside the target and moved in at the end: a server reading the old output never sees half a build,
  // and two processes building at once each finish with a whole one.
  const staging = `${outDir}.building-${process.pid}-${Date.now()}`;
  const { build } = await import('vite');
  try {
    await build({
      configFile: path.join(dashboardSourceDir, 'vite.config.ts'),
      root: dashboardSourceDir,
      logLevel: 'warn',
      build: { outDir: staging, emptyOutDir: true },
    });
    await writeFile(path.join(staging, buildHashFile), `${sourceHash}\n`);
    await rm(outDir, { recursive: true, force: true });
    await rename(staging, outDir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  options.log?.(`built the dashboard into ${path.relative(process.cwd(), outDir) || outDir}`);
  return { built: true, outDir };
}

async function recordedHash(outDir: string): Promise<string | undefined> {
  try {
    return (await readFile(path.join(outDir, buildHashFile), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/**
 * For the commands that serve the API (`pixelshift dev`, `pixelshift api`): builds the dashboard when stale
 * and answers where it is. A failed build (a read-only file system, say) is reported, not fatal: the API
 * starts, and /dashboard/ answers 503 until a build is there.
 */
export async function prepareDashboard(
  log: (line: string) => void,
  outDir: string = defaultDashboardDist,
): Promise<string> {
  try {
    return (await ensureDashboardBuilt({ log, outDir })).outDir;
  } catch (error) {
    log(
      `the dashboard was not built (${error instanceof Error ? error.message : String(error)}); /dashboard/ answers 503 until \`npm run dashboard:build\` succeeds`,
    );
    return path.resolve(outDir);
  }
}
