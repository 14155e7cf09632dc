/**
 * Temporal's time-skipping test server, for the tests of long waits (a delivery's three-day retry schedule, a
 * graph's throttle slot hours ahead; docs/architecture.md §14). The TypeScript SDK would download a native
 * build of it, which this project cannot rely on; the same server ships in the Java SDK as
 * `io.temporal:temporal-test-server`, so it is installed from Maven Central with its runtime dependencies
 * into `.tools/temporal-test-server-<version>/` (Maven's local repository in `.tools/maven-repository`, as
 * for the OpenAPI Generator jar), checked against the SHA-256 digests pinned here, and run by a launcher
 * script there that the SDK's `TestWorkflowEnvironment.createTimeSkipping` starts as an existing executable.
 * Needs `java` (17 or newer) and `mvn` on PATH.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { installOnce, toolsRoot } from './python-tools.js';

const run = promisify(execFile);

export const TEMPORAL_TEST_SERVER = {
  version: '1.38.0',
  artifact: 'io.temporal:temporal-test-server:1.38.0',
  /** The server's own jar. */
  sha256: 'c6c813bbee46dcdc9df5a018fe6ed4caaf79b0c3c9511a3dd6275232a6d8538e',
  /**
   * The whole runtime class path (`lib/`): SHA-256 over the sorted `<file name> <SHA-256>` lines of its jars,
   * so no transitive dependency can change unnoticed (`runtimeDigest`).
   */
  runtimeSha256: 'ef27d9af0f1fb34907cfbcbff6c8233e0a3ad6501bac1bb379aa62bb0915500e',
} as const;

/** The server logs through SLF4J; without a binding it prints a warning at every start and nothing else. */
const LOGGING_BINDING = 'org.slf4j:slf4j-simple:1.7.36';
/** Pinned so that every Maven resolves the class path the same way (the version Maven 3.8 picks by itself). */
const COPY_DEPENDENCIES = 'org.apache.maven.plugins:maven-dependency-plugin:2.8:copy-dependencies';

export const temporalTestServerFolder = path.join(
  toolsRoot,
  `temporal-test-server-${TEMPORAL_TEST_SERVER.version}`,
);

/**
 * The launcher of the installed test server (`temporal-test-server <port> [--enable-time-skipping]`),
 * installed first when missing.
 */
export async function ensureTemporalTestServer(): Promise<string> {
  const folder = temporalTestServerFolder;
  await installOnce(folder, `${TEMPORAL_TEST_SERVER.artifact}\n${LOGGING_BINDING}`, async (scratch) => {
    await requireCommand('java', ['-version'], 'Java 17 or newer');
    await requireCommand('mvn', ['-v'], 'Maven');
    await writeFile(path.join(scratch, 'pom.xml'), runtimePom());
    const lib = path.join(scratch, 'lib');
    await mkdir(lib);
    try {
      await run(
        'mvn',
        [
          '-B',
          '-q',
          `-Dmaven.repo.local=${path.join(toolsRoot, 'maven-repository')}`,
          '-f',
          path.join(scratch, 'pom.xml'),
          COPY_DEPENDENCIES,
          '-DincludeScope=runtime',
          `-DoutputDirectory=${lib}`,
        ],
        { maxBuffer: 16 * 1024 * 1024 },
      );
    } catch (error) {
      // Maven reports on stdout, which execFile's message leaves out.
      const { stdout } = error as { stdout?: string };
      throw new Error(`Could not fetch ${TEMPORAL_TEST_SERVER.artifact} with Maven:\n${stdout ?? ''}`, {
        cause: error,
      });
    }
    const [group, name, version] = TEMPORAL_TEST_SERVER.artifact.split(':') as [string, string, string];
    const jar = path.join(lib, `${name}-${version}.jar`);
    const digest = sha256(await readFile(jar));
    if (digest !== TEMPORAL_TEST_SERVER.sha256) {
      throw new Error(`${group}:${name} jar has SHA-256 ${digest}, expected ${TEMPORAL_TEST_SERVER.sha256}`);
    }
    const runtime = await runtimeDigest(lib);
    if (runtime !== TEMPORAL_TEST_SERVER.runtimeSha256) {
      throw new Error(
        `The test server's runtime class path (${lib}) has digest ${runtime}, expected ${TEMPORAL_TEST_SERVER.runtimeSha256}`,
      );
    }
    const launcher = path.join(scratch, 'temporal-test-server');
    await writeFile(launcher, launcherScript());
    await chmod(launcher, 0o755);
  });
  return path.join(folder, 'temporal-test-server');
}

/** SHA-256 over the sorted `<file name> <SHA-256 of the file>` lines of the jars in `lib`. */
export async function runtimeDigest(lib: string): Promise<string> {
  const names = (await readdir(lib)).filter((name) => name.endsWith('.jar')).sort();
  const lines: string[] = [];
  for (const name of names) lines.push(`${name} ${sha256(await readFile(path.join(lib, name)))}\n`);
  return sha256(Buffer.from(lines.join('')));
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function requireCommand(command: string, args: string[], what: string): Promise<void> {
  try {
    await run(command, args, { timeout: 60_000 });
  } catch (error) {
    throw new Error(
      `The Temporal test server needs ${what}: \`${command} ${args.join(' ')}\` failed (${(error as Error).message.split('\n')[0]}). Install it, or put it on PATH.`,
      { cause: error },
    );
  }
}

/** A project whose only purpose is the server's runtime class path. */
function runtimePom(): string {
  const dependency = (coordinates: string) => {
    const [groupId, artifactId, version] = coordinates.split(':') as [string, string, string];
    return `    <dependency>
      <groupId>${groupId}</groupId>
      <artifactId>${artifactId}</artifactId>
      <version>${version}</version>
    </dependency>`;
  };
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by pixelshift's src/tools/temporal-test-server.ts: the test server's runtime class path. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.pixelshift</groupId>
  <artifactId>temporal-test-server-runtime</artifactId>
  <version>${TEMPORAL_TEST_SERVER.version}</version>
  <packaging>pom</packaging>
  <dependencies>
${dependency(TEMPORAL_TEST_SERVER.artifact)}
${dependency(LOGGING_BINDING)}
  </dependencies>
</project>
`;
}

/**
 * `temporal-test-server <port> [--enable-time-skipping]`. `exec` makes the JVM the process its starter knows,
 * so the SDK's kill at teardown stops the server itself; a watchdog stops it too when that starter dies
 * without a teardown (a test process that crashed or was killed), so no server outlives its tests. The JVM
 * flags favour a quick start (the SDK waits five seconds for the server to answer) over peak speed.
 */
function launcherScript(): string {
  return `#!/bin/sh
# Temporal's test server from the Java SDK (${TEMPORAL_TEST_SERVER.artifact}), installed by
# pixelshift's src/tools/temporal-test-server.ts. Usage: temporal-test-server <port> [--enable-time-skipping]
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
owner=$PPID
self=$$
(
  while kill -0 "$owner" 2>/dev/null && kill -0 "$self" 2>/dev/null; do sleep 2; done
  kill "$self" 2>/dev/null
) </dev/null >/dev/null 2>&1 &
exec "\${JAVA_HOME:+$JAVA_HOME/bin/}java" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx512m \\
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \\
  -cp "$here/lib/*" io.temporal.testserver.TestServer "$@"
`;
}
