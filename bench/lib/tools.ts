/**
 * What the benchmarks share: the load generators, each a separate process so the servers under
 * test never share an event loop with the client (wrk for request rates, curl for one large
 * file), their output folder, timing, and a server process's peak memory.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../../src/config.ts';

const WRK_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'wrk-summary.lua');

export interface WrkResult {
  requests: number;
  bytes: number;
  durationUs: number;
  /** responses with status >= 400 (wrk's "Non-2xx or 3xx responses") */
  statusErrors: number;
  connectErrors: number;
  readErrors: number;
  writeErrors: number;
  timeouts: number;
  p50Us: number;
  p99Us: number;
  requestsPerSecond: number;
  megabytesPerSecond: number;
  socketErrors: number;
}

/** Resolves with stdout; rejects with everything the command printed when it fails. */
export function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${stdout}${stderr}`));
    });
  });
}

export interface WrkOptions {
  url: string;
  seconds: number;
  connections: number;
  threads: number;
}

export async function wrk(options: WrkOptions): Promise<WrkResult> {
  const stdout = await run('wrk', [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    '--timeout', '5s',
    '-s', WRK_SCRIPT,
    options.url,
  ]);
  const line = /^WRK_SUMMARY (.*)$/m.exec(stdout);
  if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
  const raw = JSON.parse(line[1]!) as Omit<WrkResult, 'requestsPerSecond' | 'megabytesPerSecond' | 'socketErrors'>;
  const seconds = raw.durationUs / 1e6;
  return {
    ...raw,
    requestsPerSecond: raw.requests / seconds,
    megabytesPerSecond: raw.bytes / seconds / 1e6,
    socketErrors: raw.connectErrors + raw.readErrors + raw.writeErrors + raw.timeouts,
  };
}

export interface CurlResult {
  status: number;
  bytes: number;
  megabytesPerSecond: number;
}

/** One download to /dev/null over one connection; curl's own average speed. */
export async function curlDownload(url: string): Promise<CurlResult> {
  const stdout = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{speed_download}', url]);
  const [status, bytes, speed] = stdout.trim().split(' ').map(Number);
  return { status: status!, bytes: bytes!, megabytesPerSecond: speed! / 1e6 };
}

/** The middle value of a run's figures (the upper of the two middles for an even count). */
export const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * What a benchmark starts (servers, nginx, its folder) is pushed here and stopped again, last
 * first, by `cleanUp()` at the end or on Ctrl-C.
 */
export function cleanupOnExit() {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  async function cleanUp() {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups.length = 0;
  }
  process.once('SIGINT', () => void cleanUp().then(() => process.exit(130)));
  return { cleanups, cleanUp };
}

/**
 * Waits until a freshly started server is "one that has been up a while". V8's memory reducer
 * first shrinks the heap about 8 s after start-up's last full collection (its start delay is
 * 8,000 ms); measured with scripts/start-server.sh the idle server drops from ~120 to ~97 MB
 * between 8 and 10 s after start, so a 10 s wait landed on either side of that step.
 */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 20_000));
}

/** A fresh folder under bench/.out/ for one benchmark's files, named after it. */
export function benchOutDir(name: string): string {
  const outRoot = path.join(PROJECT_ROOT, 'bench', '.out');
  fs.mkdirSync(outRoot, { recursive: true });
  return fs.mkdtempSync(path.join(outRoot, `${name}-`));
}

/** The work's result and the seconds it took. */
export function seconds<T>(work: () => T): [T, number] {
  const start = process.hrtime.bigint();
  const result = work();
  return [result, Number(process.hrtime.bigint() - start) / 1e9];
}

/**
 * Resets a process's peak resident set size (the kernel's high-water mark), so that its
 * start-up peak (module loading, WebAssembly compilation) does not count as the measured work's.
 */
export function resetPeakRss(pid: number): void {
  fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** A process's peak resident set size since start or since resetPeakRss, in MB. */
export function peakRssMb(pid: number): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}
