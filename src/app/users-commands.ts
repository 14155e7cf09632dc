/**
 * `pixelshift users create | list | delete | link`: the people who sign in to the dashboard
 * (docs/architecture.md, "Dashboard sessions"). Passwords are typed twice without echo on a terminal,
 * read as one line from a pipe, or generated and shown once; only their scrypt hashes are stored.
 */
import { generatePassword, passwordProblem } from '../core/auth/passwords.js';
import { loadConfig, type Config } from '../core/config.js';
import {
  accountIdSchema,
  createDashboardUser,
  createSignInLink,
  deleteDashboardUser,
  emailSchema,
  ensureAccount,
  findDashboardUserByEmail,
  listDashboardUsers,
  type DashboardUser,
  type Db,
} from '../db/index.js';
import type { CliIo } from './io.js';
import { openMigratedDatabase } from './wiring.js';

/** Where a password comes from: the terminal (hidden, typed twice) or one line of piped stdin. */
export interface PasswordInput {
  isTty: boolean;
  /** Reads a line without echoing it (terminal only). */
  readHidden(prompt: string): Promise<string>;
  /** Reads the first line of stdin. */
  readLine(): Promise<string>;
}

export interface UsersOptions {
  account?: string | undefined;
  email?: string | undefined;
  generatePassword?: boolean | undefined;
  json?: boolean | undefined;
}

const usersUsage =
  'Expected users create --account <id> --email <e> [--generate-password] [--json], users list [--account <id>] [--json], users delete --email <e>, or users link --email <e>';

type Failure = { error: { code: string; message: string } };
const failure = (code: string, message: string): Failure => ({ error: { code, message } });

/** The server's own address for printed links: PUBLIC_URL, else where the API listens. */
export function serverBaseUrl(config: Pick<Config, 'http'>): string {
  if (config.http.publicUrl !== undefined) return config.http.publicUrl.replace(/\/+$/, '');
  const host = ['127.0.0.1', '0.0.0.0', '::'].includes(config.http.host) ? 'localhost' : config.http.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.http.port}`;
}

function userJson(user: DashboardUser) {
  return {
    id: user.id,
    accountId: user.accountId,
    email: user.email,
    createdAt: user.createdAt.toISOString(),
  };
}

function checkEmail(email: string | undefined): Failure | undefined {
  if (email === undefined) return failure('invalid_arguments', usersUsage);
  if (!emailSchema.safeParse(email.trim()).success) {
    return failure('invalid_email', 'Expected --email as an email address such as ada@example.com');
  }
  return undefined;
}

async function choosePassword(
  generate: boolean,
  input: PasswordInput,
): Promise<{ password: string; generated: boolean } | Failure> {
  if (generate) return { password: generatePassword(), generated: true };
  let password: string;
  if (input.isTty) {
    password = await input.readHidden('Password: ');
    const again = await input.readHidden('Password again: ');
    if (again !== password)
      return failure('passwords_differ', 'The two passwords differ; nothing was created');
  } else {
    password = await input.readLine();
  }
  const problem = passwordProblem(password);
  if (problem) return failure('invalid_password', problem);
  return { password, generated: false };
}

async function withDatabase(io: CliIo, run: (db: Db, config: Config) => Promise<void>): Promise<void> {
  const config = loadConfig();
  const database = await openMigratedDatabase(config, io.log);
  try {
    await run(database.db, config);
  } finally {
    await database.close();
  }
}

export async function usersCommand(
  sub: string | undefined,
  options: UsersOptions,
  io: CliIo,
  input: PasswordInput,
): Promise<void> {
  switch (sub) {
    case 'create':
      return usersCreate(options, io, input);
    case 'list':
      return usersList(options, io);
    case 'delete':
      return usersDelete(options, io);
    case 'link':
      return usersLink(options, io);
  }
  io.fail(failure('invalid_arguments', usersUsage));
}

async function usersCreate(options: UsersOptions, io: CliIo, input: PasswordInput): Promise<void> {
  if (options.account === undefined) return io.fail(failure('invalid_arguments', usersUsage));
  if (!accountIdSchema.safeParse(options.account).success) {
    return io.fail(
      failure('invalid_account', 'Expected an account id of lower-case letters, digits and hyphens'),
    );
  }
  const bad = checkEmail(options.email);
  if (bad) return io.fail(bad);
  const email = options.email!.trim();
  const accountId = options.account;
  await withDatabase(io, async (db) => {
    if (await findDashboardUserByEmail(db, email)) {
      return io.fail(
        failure('user_exists', `A dashboard user with the email ${email.toLowerCase()} exists already`),
      );
    }
    const chosen = await choosePassword(options.generatePassword ?? false, input);
    if ('error' in chosen) return io.fail(chosen);
    await ensureAccount(db, { id: accountId, name: accountId });
    const user = await createDashboardUser(db, { accountId, email, password: chosen.password });
    if (options.json) {
      io.print({ ...userJson(user), ...(chosen.generated ? { password: chosen.password } : {}) });
      return;
    }
    io.log(`user      ${user.id}`);
    io.log(`account   ${user.accountId}`);
    io.log(`email     ${user.email}`);
    if (chosen.generated) io.log(`password  ${chosen.password}   (shown once: store it now)`);
  });
}

async function usersList(options: UsersOptions, io: CliIo): Promise<void> {
  if (options.account !== undefined && !accountIdSchema.safeParse(options.account).success) {
    return io.fail(
      failure('invalid_account', 'Expected an account id of lower-case letters, digits and hyphens'),
    );
  }
  await withDatabase(io, async (db) => {
    const users = await listDashboardUsers(db, options.account);
    if (options.json) {
      io.print({ users: users.map(userJson) });
      return;
    }
    if (users.length === 0) io.log('no dashboard users (pixelshift users create --account <id> --email <e>)');
    for (const user of users) {
      io.log(`${user.accountId}\t${user.email}\t${user.id}\t${user.createdAt.toISOString()}`);
    }
  });
}

async function usersDelete(options: UsersOptions, io: CliIo): Promise<void> {
  const bad = checkEmail(options.email);
  if (bad) return io.fail(bad);
  await withDatabase(io, async (db) => {
    // Its sessions and links are deleted with it: a signed-in browser is refused from its next request.
    const user = await deleteDashboardUser(db, options.email!);
    if (!user) return io.fail(failure('user_not_found', `No dashboard user has the email ${options.email}`));
    io.print({ deleted: userJson(user) });
  });
}

async function usersLink(options: UsersOptions, io: CliIo): Promise<void> {
  const bad = checkEmail(options.email);
  if (bad) return io.fail(bad);
  await withDatabase(io, async (db, config) => {
    const user = await findDashboardUserByEmail(db, options.email!);
    if (!user) return io.fail(failure('user_not_found', `No dashboard user has the email ${options.email}`));
    const link = await createSignInLink(db, user.id);
    const url = `${serverBaseUrl(config)}${link.url}`;
    if (options.json) io.print({ email: user.email, url, expiresAt: link.expiresAt.toISOString() });
    else io.log(`Sign in (one-time link, valid 15 minutes): ${url}`);
  });
}

/** Password input on the real stdin: hidden on a terminal, one line from a pipe. */
export const processPasswordInput: PasswordInput = {
  get isTty() {
    return process.stdin.isTTY;
  },
  readHidden(prompt) {
    return new Promise((resolve, reject) => {
      const stdin = process.stdin;
      process.stderr.write(prompt);
      stdin.setRawMode(true);
      stdin.resume();
      stdin.setEncoding('utf8');
      let typed = '';
      const finish = (error?: Error) => {
        stdin.off('data', onData);
        stdin.setRawMode(false);
        stdin.pause();
        process.stderr.write('\n');
        if (error) reject(error);
        else resolve(typed);
      };
      const onData = (chunk: string) => {
        for (const char of chunk) {
          if (char === '\r' || char === '\n') return finish();
          if (char === '\u0003') return finish(new Error('cancelled'));
          if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
          else typed += char;
        }
      };
      stdin.on('data', onData);
    });
  },
  async readLine() {
    let text = '';
    process.stdin.setEncoding('utf8');
    for await (const chunk of process.stdin) {
      text += chunk as string;
      const end = text.indexOf('\n');
      if (end >= 0) return text.slice(0, end).replace(/\r$/, '');
    }
    return text.replace(/\r$/, '');
  },
};
