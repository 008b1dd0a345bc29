/**
 * Scenario (c) of bench/serve.ts: nginx → the real app (its own process, LOCAL mode, SQLite) →
 * nginx sends the file. The bench's files become real downloads through the download service
 * (hard-linked into staging, so a 1 GiB file is not copied), then the app is started as
 * `npm start` would run it, and nginx is put in front with the shipped site configuration.
 *
 * `countedDownloads()` reads the stored counter, and `logged200s()` counts the 200 responses in
 * nginx's access log for the same URL: after the run the two must be equal.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, PROJECT_ROOT } from '../../src/config.ts';
import { createDeps } from '../../src/deps.ts';
import { createLogger } from '../../src/log.ts';
import { freePort, type RunningNginx } from '../../tests/helpers/nginx.ts';
import { startServerProcess } from '../../tests/helpers/processes.ts';

export interface BenchFile {
  /** opaque storage key: the file is MEDIA_ROOT/downloads/<key> */
  key: string;
  size: number;
  path: string;
}

export interface RealServeSetup {
  mediaRoot: string;
  mediaUrl: string;
  /** a scratch folder for this run (database, logs); removed afterwards unless --keep */
  outDir: string;
  files: { small: BenchFile; big?: BenchFile };
  /** Starts nginx with the shipped site config and this run's settings in front of `upstreams`. */
  startNginx(upstreams: string[]): Promise<RunningNginx>;
}

export interface RealServePath {
  /** Full URLs through nginx that answer 200 with the file's bytes. */
  urls: { small: string; big?: string };
  /** The stored download counter of the small file. */
  countedDownloads(): Promise<number>;
  /** 200 responses nginx logged for the small file's URL. */
  logged200s(): number;
  /** Runs `npm run cli -- ingest-nginx-log` on nginx's access log; returns its report line. */
  ingestAccessLog(): string;
  stop(): Promise<void>;
}

function sha256Of(file: string): string {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buffer = Buffer.alloc(8 * 1024 * 1024);
  for (let n; (n = fs.readSync(fd, buffer)) > 0; ) hash.update(buffer.subarray(0, n));
  fs.closeSync(fd);
  return hash.digest('hex');
}

export async function startRealServePath(setup: RealServeSetup): Promise<RealServePath | { skipped: string }> {
  const env = {
    DATABASE_URL: `file:${path.join(setup.outDir, 'bench.db')}`,
    MEDIA_ROOT: setup.mediaRoot,
    MEDIA_URL: setup.mediaUrl,
    DOWNLOAD_SERVE_FROM: 'LOCAL',
    SESSION_SECRET: crypto.randomBytes(32).toString('hex'),
  };
  execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'prisma-cli.cjs'), 'migrate', 'deploy'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });

  const config = loadConfig({ ...env, LOG_LEVEL: 'warn' });
  const deps = await createDeps(config, { log: createLogger(config) });
  const register = async (file: BenchFile, title: string) => {
    const staging = await deps.files.createStaging();
    const staged = deps.files.stagedPath(staging);
    fs.linkSync(file.path, staged);
    const download = await deps.downloads.create(
      { title, state: 'published' },
      { path: staged, size: file.size, sha256: sha256Of(file.path), originalName: `${title}.bin` },
    );
    await deps.files.discardStaging(staging);
    return download;
  };
  const small = await register(setup.files.small, 'bench-small');
  const big = setup.files.big ? await register(setup.files.big, 'bench-big') : undefined;
  await deps.close();

  // LOG_LEVEL=warn: at thousands of requests a second the app's per-request log line would be a
  // second access log; nginx's is the one kept (and read below).
  // As `npm start` runs it: compiled JavaScript, built first.
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  const app = await startServerProcess({ ...env, LOG_LEVEL: 'warn', PORT: String(await freePort()) }, { compiled: true });
  const nginx = await setup.startNginx([new URL(app.url).host]);
  const smallPath = `/downloads/${small.slug}/file`;

  return {
    urls: { small: `${nginx.url}${smallPath}`, big: big ? `${nginx.url}/downloads/${big.slug}/file` : undefined },
    async countedDownloads() {
      const check = loadConfig({ ...env, LOG_LEVEL: 'silent' });
      const reader = await createDeps(check, { log: createLogger(check) });
      try {
        return Number((await reader.downloads.findById(small.id))!.downloadCount);
      } finally {
        await reader.close();
      }
    },
    logged200s() {
      return fs
        .readFileSync(nginx.accessLogPath, 'utf8')
        .split('\n')
        .filter((line) => line.includes(`"path":"${smallPath}"`) && line.includes('"status":"200"')).length;
    },
    ingestAccessLog() {
      return execFileSync(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'cli.ts'), 'ingest-nginx-log', nginx.accessLogPath], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
        encoding: 'utf8',
      }).trim();
    },
    async stop() {
      await app.stop();
    },
  };
}
