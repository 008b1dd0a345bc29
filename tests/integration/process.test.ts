/** The server as a process: start-up, bad configuration, graceful shutdown. */
import { spawnSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PROJECT_ROOT } from '../../src/config.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { testEnv } from '../helpers/context.ts';
import { onPostgres } from '../helpers/env.ts';
import { startServerProcess } from '../helpers/processes.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.drop());

describe('starting the server', () => {
  test('bad configuration exits 1 and names every problem', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...testEnv({ PORT: 'abc', DATABASE_URL: 'mysql://x', DOWNLOAD_SERVE_FROM: 'REMOTE' }) },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('PORT: expected a whole number (got "abc")');
    expect(result.stderr).toContain('DATABASE_URL: expected a file: URL (SQLite) or a postgresql:// URL (PostgreSQL)');
    expect(result.stderr).toContain('DOWNLOAD_REMOTE_BASE_URL: is required when DOWNLOAD_SERVE_FROM=REMOTE');
  });

  test.skipIf(onPostgres)('npm start creates and migrates a new SQLite database, then serves', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-start-'));
    const file = path.join(dir, 'nested', 'fresh.db');
    const child = spawn('npm', ['start', '--silent'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...testEnv({ DATABASE_URL: `file:${file}`, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', MEDIA_ROOT: dir }) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    try {
      const port = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(output)), 45_000);
        child.stdout.on('data', () => {
          const m = /listening on http:\/\/[^:]+:(\d+)/.exec(output);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      expect(fs.existsSync(file)).toBe(true);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      const login = await fetch(`http://127.0.0.1:${port}/login`);
      expect(await login.text()).toContain('Sign in');
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('stopping the server', () => {
  test('SIGTERM lets a request in flight finish, then exits 0', async () => {
    const server = await startServerProcess({ DATABASE_URL: database.url, SHUTDOWN_GRACE: '10s' });
    // A slow request: the client sends its body in two parts, the second after SIGTERM.
    const url = new URL('/login', server.url);
    const response = new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': '19' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        },
      );
      req.on('error', reject);
      req.write('username=a&');
      setTimeout(() => req.end('pass=bbb'), 400);
    });
    await new Promise((r) => setTimeout(r, 100));
    const exit = server.stop('SIGTERM');
    expect(await response).toBe(403); // answered (no CSRF token), not cut off
    expect(await exit).toBe(0);
    expect(server.output()).toContain('"msg":"stopped"');
  });
});
