/** Output for CLI commands: JSON on stdout, and a non-zero exit code on failure. */
export interface CliIo {
  print: (value: unknown) => void;
  fail: (value: unknown) => void;
  log: (line: string) => void;
}

export const processIo: CliIo = {
  print: (value) => {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  },
  fail: (value) => {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    process.exitCode = 1;
  },
  log: (line) => {
    process.stderr.write(`${line}\n`);
  },
};
