/**
 * A real nginx running the shipped site configuration, for tests and the benchmark:
 *
 *   const nginx = await startNginx({ upstreams: ['127.0.0.1:3000'], mediaRoot });
 *   await fetch(`${nginx.url}/downloads/x/file`);
 *   afterAll(() => nginx.stop());
 *
 * The standalone nginx.conf written here holds only what a test run needs (foreground, files
 * under a temp folder, one worker); everything about serving comes from
 * nginx/downloads.conf.template through renderNginxConfig, so the tests exercise the template
 * an operator installs.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { renderNginxConfig } from '../../scripts/nginx-config.ts';
import { TEST_TMP, nginxBinary } from './env.ts';

export interface StartNginxOptions {
  upstreams: string[];
  mediaRoot: string;
  /** default `/media/` */
  mediaUrl?: string;
  /** client_max_body_size; default the app's default UPLOAD_MAX_BYTES (2 GiB) */
  maxBodyBytes?: number;
  /** worker_processes; default 1 */
  workers?: number;
  /** Raw configuration appended inside http {} (the benchmark adds a public server block). */
  extraHttpConfig?: string;
  /** Folder to create the temp folder in; default tests/.tmp */
  parentDir?: string;
}

export interface RunningNginx {
  url: string;
  port: number;
  /** The temp folder holding nginx.conf, the rendered site config, logs and temp paths. */
  dir: string;
  accessLogPath: string;
  errorLogPath: string;
  /** The rendered site configuration, as included. */
  siteConfig: string;
  stop(): Promise<void>;
}

const NGINX_START_TIMEOUT_MS = 10_000;
const NGINX_STOP_TIMEOUT_MS = 5_000;

/** A port that was free a moment ago on 127.0.0.1 (startNginx retries if it is taken meanwhile). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function mainConfig(dir: string, siteConfigPath: string, options: StartNginxOptions): string {
  const temp = (name: string) => path.join(dir, 'temp', name);
  return `daemon off;
master_process on;
worker_processes ${options.workers ?? 1};
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} notice;
${
  // Workers started by root run as nobody, who cannot enter the 0700 folders mkdtemp makes.
  process.getuid?.() === 0 ? 'user root root;' : ''
}
events {
    worker_connections 1024;
}

http {
    # Just enough of mime.types: the site config must not depend on the distribution's copy.
    types {
        text/html html;
        text/plain txt;
        application/json json;
    }
    default_type application/octet-stream;

    client_body_temp_path ${temp('client_body')};
    proxy_temp_path ${temp('proxy')};
    fastcgi_temp_path ${temp('fastcgi')};
    uwsgi_temp_path ${temp('uwsgi')};
    scgi_temp_path ${temp('scgi')};

    include ${siteConfigPath};
${options.extraHttpConfig ?? ''}
}
`;
}

/** Resolves once 127.0.0.1:port accepts a connection. */
async function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function readIfExists(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export async function startNginx(options: StartNginxOptions): Promise<RunningNginx> {
  if (!nginxBinary) {
    throw new Error('nginx is not installed (apt-get install -y nginx); tests that need it skip unless REQUIRE_SERVICES=1');
  }
  const parent = options.parentDir ?? TEST_TMP;
  fs.mkdirSync(parent, { recursive: true });

  // A port found free can be taken before nginx binds it: try again with another one.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = fs.mkdtempSync(path.join(parent, 'nginx-'));
    try {
      return await startOnce(nginxBinary, dir, await freePort(), options);
    } catch (error) {
      lastError = error;
      if (!/Address already in use/.test(String((error as Error).message))) throw error;
    }
  }
  throw lastError;
}

async function startOnce(binary: string, dir: string, port: number, options: StartNginxOptions): Promise<RunningNginx> {
  for (const name of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) fs.mkdirSync(path.join(dir, 'temp', name), { recursive: true });
  const accessLogPath = path.join(dir, 'access.log');
  const errorLogPath = path.join(dir, 'error.log');
  const siteConfigPath = path.join(dir, 'downloads.conf');
  const siteConfig = renderNginxConfig({
    listen: `127.0.0.1:${port}`,
    upstreams: options.upstreams,
    mediaUrl: options.mediaUrl ?? '/media/',
    mediaRoot: options.mediaRoot,
    maxBodyBytes: options.maxBodyBytes ?? 2 * 1024 ** 3,
    accessLog: accessLogPath,
  });
  fs.writeFileSync(siteConfigPath, siteConfig);
  const confPath = path.join(dir, 'nginx.conf');
  fs.writeFileSync(confPath, mainConfig(dir, siteConfigPath, options));

  const child = spawn(binary, ['-c', confPath, '-p', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const failure = () => `nginx did not start (${confPath}):\n${output}${readIfExists(errorLogPath)}`;

  // nginx writes its pid file only after binding every listen socket, so the pid file (not a
  // connection, which another process on the port could answer) says it is ours and ready.
  const pidPath = path.join(dir, 'nginx.pid');
  const deadline = Date.now() + NGINX_START_TIMEOUT_MS;
  while (readIfExists(pidPath).trim() !== String(child.pid) || !(await portAnswers(port))) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(failure());
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(failure());
    }
    await sleep(20);
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    accessLogPath,
    errorLogPath,
    siteConfig,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // SIGQUIT: the master lets workers finish their requests and close idle keep-alive
      // connections; SIGTERM, then SIGKILL, only if that takes too long.
      for (const signal of ['SIGQUIT', 'SIGTERM', 'SIGKILL'] as const) {
        child.kill(signal);
        const stopped = await Promise.race([exited.then(() => true), sleep(NGINX_STOP_TIMEOUT_MS).then(() => false)]);
        if (stopped) return;
      }
    },
  };
}
