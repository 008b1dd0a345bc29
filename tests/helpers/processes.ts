/** Running the project's own entry points as real processes (the CLI, the server). */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config.ts';
import { testEnv } from './context.ts';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run cli -- <args>` without npm's own output: node + tsx on src/cli.ts. */
export function runCli(args: string[], env: Record<string, string | undefined>, input?: string): CliResult {
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'cli.ts'), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...testEnv(env) },
    input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `node src/main.ts` and waits until it serves: on a free port announced by its
 * "listening" log line, or — when env.PORT is given (quiet log levels print no such line) —
 * until /healthz answers on that port.
 */
export async function startServerProcess(
  env: Record<string, string | undefined>,
  options: { compiled?: boolean } = {},
): Promise<ServerProcess> {
  // compiled: dist/main.js through scripts/start-server.sh, as `npm start` runs it, memory
  // settings included (benchmarks); otherwise the sources through tsx.
  const [command, args] = options.compiled
    ? ['sh', [path.join(PROJECT_ROOT, 'scripts', 'start-server.sh')]]
    : [process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'main.ts')]];
  const child = spawn(command, args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NODE: process.execPath, ...testEnv({ LOG_LEVEL: 'info', PORT: '0', HOST: '127.0.0.1', ...env }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url =
    env.PORT && env.PORT !== '0'
      ? await awaitHealthy(child, `http://127.0.0.1:${env.PORT}`, () => output)
      : await awaitListening(child, () => output);
  return {
    child,
    url,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** The URL from the server's "listening" log line (it listens on a port of its choosing). */
function awaitListening(child: ChildProcess, output: () => string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output()}`)), 30_000);
    const check = () => {
      const match = /listening on http:\/\/[^:]+:(\d+)/.exec(output());
      if (match) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${match[1]}`);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', () => reject(new Error(`server exited:\n${output()}`)));
  });
}

/** `url` once its /healthz answers. */
async function awaitHealthy(child: ChildProcess, url: string, output: () => string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited:\n${output()}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) return url;
    if (Date.now() > deadline) throw new Error(`server did not start:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
