/**
 * The `pixelshift` command's dispatch (main.ts loads it once tracing is set up). Each subcommand is a small
 * module; this file only dispatches.
 */
import { parseArgs } from 'node:util';
import {
  keysCreateCommand,
  migrateCommand,
  purgeCommand,
  reconcileCommand,
  setupCommand,
} from './admin-commands.js';
import { apiCommand } from './api-command.js';
import { devCommand } from './dev.js';
import { doctorCommand } from './doctor.js';
import { graphRun, graphValidate } from './graph-commands.js';
import { processIo } from './io.js';
import type { Tracing } from './tracing.js';
import { processPasswordInput, usersCommand } from './users-commands.js';
import { reexecWithMallocArenaMax } from './wiring.js';
import { workerCommand } from './worker-command.js';

const usage = `Usage: pixelshift <command>

  dev                                        everything on embedded defaults (what npm start runs)
  api                                        the HTTP API
  worker                                     a Temporal worker (orchestration and imaging queues)
  migrate                                    bring the database schema up to date
  setup                                      create the namespace and search attributes on a Temporal cluster
  doctor [--json]                            check configuration, database, Temporal and storage; exit 1 on a problem
  keys create --account <id> [--json]        create an account (if new) and an API key pair
  users create --account <id> --email <e> [--generate-password] [--json]
                                             a dashboard user (password typed twice, piped, or generated)
  users list [--account <id>] [--json]       the dashboard users
  users delete --email <e>                   delete a dashboard user and end its sessions
  users link --email <e>                     print a one-time dashboard sign-in link (valid 15 minutes)
  purge [--older-than 30d]                   delete expired idempotency keys, hook message ids, webhook events
  reconcile --batch <id> | --since <time>    rebuild read-model rows from Temporal (after a database restore)
  graph validate <file.json>                 validate a Transform Graph, print every issue
  graph run <file.json> --local-root <dir>   run a graph against a local folder (bucket = first folder)
`;

/** `tracing`: OpenTelemetry's SDK as main.ts started it for this process (api, worker, dev), when asked for. */
export async function main(argv: string[], tracing?: Tracing): Promise<void> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      'local-root': { type: 'string' },
      account: { type: 'string' },
      json: { type: 'boolean' },
      'older-than': { type: 'string' },
      batch: { type: 'string' },
      since: { type: 'string' },
      email: { type: 'string' },
      'generate-password': { type: 'boolean' },
    },
    allowPositionals: true,
  });
  switch (command) {
    case 'dev':
      if (await reexecWithMallocArenaMax()) return;
      return devCommand(processIo, tracing);
    case 'worker':
      if (await reexecWithMallocArenaMax()) return;
      return workerCommand(processIo, tracing);
    case 'api':
      return apiCommand(processIo, tracing);
    case 'migrate':
      return migrateCommand(processIo);
    case 'setup':
      return setupCommand(processIo);
    case 'doctor':
      return doctorCommand(values.json ?? false, processIo);
    case 'purge':
      return purgeCommand(values['older-than'], processIo);
    case 'reconcile':
      return reconcileCommand({ batch: values.batch, since: values.since }, processIo);
    case 'keys':
      if (positionals[0] === 'create' && values.account)
        return keysCreateCommand(values.account, values.json ?? false, processIo);
      break;
    case 'users':
      return usersCommand(
        positionals[0],
        {
          account: values.account,
          email: values.email,
          generatePassword: values['generate-password'],
          json: values.json,
        },
        processIo,
        processPasswordInput,
      );
    case 'graph': {
      const [sub, file] = positionals;
      if (sub === 'validate' && file) return graphValidate(file, processIo);
      if (sub === 'run' && file && values['local-root'])
        return graphRun(file, values['local-root'], processIo);
      break;
    }
  }
  process.stderr.write(usage);
  process.exitCode = 2;
}
