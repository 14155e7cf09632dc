/**
 * The Temporal dev server as `npm start`, the tests and the benches start it (src/tools/temporal-cli.ts):
 * a server that dies after start-up is reported with how it exited and what it wrote last, a stop asked
 * for is not, and a port already taken fails the start with the CLI's own reason.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { startTemporalDevServer } from '../../src/tools/temporal-cli.js';
import { freePort } from '../../src/tools/ports.js';
import { waitFor } from '../support/wait.js';

describe('the Temporal dev server', () => {
  test('when it is killed after start-up, then its owner is told how it exited; a stop asked for is not reported', async () => {
    const killedReports: string[] = [];
    let killedOutput = '';
    const killed = await startTemporalDevServer({
      headless: true,
      log: (text) => (killedOutput += text),
      onUnexpectedExit: (description) => killedReports.push(description),
    });
    const stoppedReports: string[] = [];
    const stopped = await startTemporalDevServer({
      headless: true,
      onUnexpectedExit: (description) => stoppedReports.push(description),
    });
    after(() => Promise.all([killed.stop(), stopped.stop()]));

    // Its banner (naming its port) comes a moment after it serves; once written, the report must carry it.
    const banner = `localhost:${killed.address.split(':')[1]}`;
    await waitFor('the banner is written', () => killedOutput.includes(banner));
    killed.process.kill('SIGKILL');
    await stopped.stop();

    await waitFor('the kill is reported', () => killedReports.length > 0);
    assert.equal(killedReports.length, 1);
    assert.match(
      killedReports[0]!,
      new RegExp(`^the Temporal dev server at ${killed.address} exited on its own \\(signal SIGKILL\\)`),
    );
    assert.ok(killedReports[0]!.includes(`its last output:\n${killedOutput}`), killedReports[0]);
    assert.deepEqual(stoppedReports, []);
  });

  test('when the port it is told to use is taken, then the start fails with the CLI saying so', async () => {
    // The start-up probes connect to the squatter; their sockets are dropped so that it can close.
    const probes = new Set<net.Socket>();
    const squatter = net.createServer((socket) => probes.add(socket));
    const port = await freePort();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    after(() => {
      for (const socket of probes) socket.destroy();
      squatter.close();
    });

    await assert.rejects(
      startTemporalDevServer({ headless: true, port }),
      new RegExp(`exited during start-up:\\n.*${port}.*address already in use`, 's'),
    );
    // The squatter is untouched: nothing was taken from whoever holds the port.
    assert.equal(squatter.listening, true);
  });
});
