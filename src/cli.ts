/**
 * The command line: `npm run cli -- <command> [options]`. Each command prints what it did;
 * errors go to stderr with exit code 1 (2 for a usage error).
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, roles, type Role } from './config.ts';
import { createDeps, type AppDeps } from './deps.ts';
import { AppError } from './errors.ts';
import { createLogger } from './log.ts';
import { pino } from 'pino';
import { ZodError } from 'zod';
import { addDownloads } from './downloads/add-downloads-command.ts';
import { cleanupCommand } from './generators/cleanup-command.ts';

class UsageError extends Error {}

type Command = {
  usage: string;
  /** Resolves to the exit code (0 when it returns nothing). */
  run(args: string[], deps: AppDeps, io: CliIo): Promise<number | void>;
};

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  readStdin(): Promise<string>;
}

const commands: Record<string, Command> = {
  'user:create': {
    usage: 'user:create --username U (--password P | --password-stdin) [--role admin|editor|analyst]',
    async run(args, deps, io) {
      const { values } = parseArgs({
        args,
        options: {
          username: { type: 'string' },
          password: { type: 'string' },
          'password-stdin': { type: 'boolean' },
          role: { type: 'string', default: 'admin' },
        },
      });
      const password = values['password-stdin'] ? (await io.readStdin()).replace(/\r?\n$/, '') : values.password;
      if (!values.username || !password) throw new UsageError('--username and --password (or --password-stdin) are required');
      if (!roles.includes(values.role as Role)) throw new UsageError(`--role must be one of ${roles.join(', ')}`);
      const user = await deps.users.createUser({ username: values.username, password, role: values.role as Role });
      io.out(`Created ${user.role} "${user.username}" (id ${user.id})`);
    },
  },
  'apikey:create': {
    usage: 'apikey:create --username U [--name N]',
    async run(args, deps, io) {
      const { values } = parseArgs({ args, options: { username: { type: 'string' }, name: { type: 'string' } } });
      if (!values.username) throw new UsageError('--username is required');
      const { key } = await deps.users.createApiKey(values.username, values.name ?? 'cli');
      io.out(`API key for "${values.username}" (shown once; store it now):`);
      io.out(key);
    },
  },
  'ingest-nginx-log': {
    usage: 'ingest-nginx-log [file | -]   (standard input when no file is given)',
    async run(args, deps, io) {
      const [file] = args;
      const fs = await import('node:fs');
      if (file && file !== '-' && !fs.statSync(file, { throwIfNoEntry: false })?.isFile()) {
        throw new AppError(400, `No such file: ${file}`, { code: 'NO_FILE' });
      }
      const input = !file || file === '-' ? process.stdin : fs.createReadStream(file);
      const report = await deps.ingestNginxLog(input);
      io.out(JSON.stringify(report));
    },
  },
  'import-archive': {
    usage: 'import-archive <zip> [--dry-run] [--unpublished] [--category NAME]',
    async run(args, deps, io) {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { 'dry-run': { type: 'boolean' }, unpublished: { type: 'boolean' }, category: { type: 'string' } },
      });
      const [zip] = positionals;
      if (!zip) throw new UsageError('the path of the ZIP archive is required');
      const fs = await import('node:fs');
      if (!fs.statSync(zip, { throwIfNoEntry: false })?.isFile()) throw new AppError(400, `No such file: ${zip}`, { code: 'NO_FILE' });
      try {
        const report = await deps.archives.importArchive(zip, {
          dryRun: values['dry-run'],
          state: values.unpublished ? 'unpublished' : 'published',
          category: values.category,
        });
        io.out(JSON.stringify(report, null, 2));
      } catch (error) {
        if (!(error instanceof AppError) || !error.expose) throw error;
        // Scripts read the same error object the API answers with; people read the list.
        io.out(JSON.stringify({ error: { code: error.code, message: error.message, ...error.details } }, null, 2));
        const problems = (error.details?.problems as { message: string }[] | undefined) ?? [{ message: error.message }];
        for (const problem of problems) io.err(problem.message);
        return 1;
      }
    },
  },
  'prune-events': {
    usage: 'prune-events   (deletes download events older than EVENT_RETENTION_DAYS; counts and rollups stay)',
    async run(_args, deps, io) {
      io.out(JSON.stringify(await deps.eventRetention.prune()));
    },
  },
  adddownloads: {
    usage: 'adddownloads <folder> [--category NAME] [-r] [--publish]',
    run: (args, deps, io) => addDownloads(args, deps, io),
  },
  cleanup: {
    usage: 'cleanup   (generated files unused for DOWNLOAD_TMP_TTL or over DOWNLOAD_TMP_QUOTA, stale staging folders)',
    async run(args, deps, io) {
      if (args.length) throw new UsageError(`cleanup takes no arguments (got ${args.join(' ')})`);
      await cleanupCommand(deps, io);
    },
  },
};

function usage(): string {
  return ['usage: npm run cli -- <command> [options]', '', ...Object.values(commands).map((c) => `  ${c.usage}`)].join('\n');
}

/** Runs one command and returns the exit code (the process entry below exits with it). */
export async function runCli(argv: string[], io: CliIo, makeDeps: () => Promise<AppDeps>): Promise<number> {
  const [name, ...args] = argv;
  const command = name ? commands[name] : undefined;
  if (!command) {
    io.err(name && name !== 'help' && name !== '--help' ? `unknown command "${name}"\n\n${usage()}` : usage());
    return 2;
  }
  let deps: AppDeps | undefined;
  try {
    deps = await makeDeps();
    return (await command.run(args, deps, io)) ?? 0;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`${(error as Error).message}\nusage: npm run cli -- ${command.usage}`);
      return 2;
    }
    if (error instanceof ConfigError) io.err(error.message);
    else if (error instanceof ZodError) io.err(error.issues.map((i) => i.message).join('\n'));
    else if (error instanceof AppError && error.expose) io.err(error.message);
    else io.err(`error: ${(error as Error).stack ?? error}`);
    return 1;
  } finally {
    await deps?.close();
  }
}

const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

if (process.argv[1] && /cli\.(ts|js)$/.test(process.argv[1])) {
  const code = await runCli(process.argv.slice(2), processIo, async () => {
    const config = loadConfig();
    // Logs go to stderr so stdout stays the command's output (e.g. the API key on the last line).
    return createDeps(config, { log: createLogger({ log: { level: 'warn' } }, pino.destination(2)) });
  });
  process.exit(code);
}
