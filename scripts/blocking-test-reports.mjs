/**
 * Preloaded into the test runner and every test file's process (scripts/run-tests.ts): standard output
 * becomes blocking when it is a pipe.
 *
 * Each test file runs in a child process that sends its verdicts to the runner over its stdout, a pipe,
 * and writes to a pipe are asynchronous on Linux. With `--test-force-exit` a child calls
 * `process.exit()` as soon as its last test ends, and verdicts still queued for the pipe are dropped:
 * the runner then counts fewer tests than ran, and still exits 0 (a whole CI run once reported 1670 of
 * 1683, the last 13 tests of one file missing). Blocking writes leave nothing queued at the exit. Node's
 * own fix is pending upstream (nodejs/node#64833); test/scripts/blocking-test-reports.test.ts shows this one.
 */
const stdout = /** @type {{ _handle?: { setBlocking?: (blocking: boolean) => unknown } }} */ (
  /** @type {unknown} */ (process.stdout)
);
stdout._handle?.setBlocking?.(true);
