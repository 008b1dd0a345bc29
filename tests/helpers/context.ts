/**
 * An app on its own fresh database and media folder, for one test file:
 *
 *   const t = await startTestApp({ DOWNLOAD_SERVE_FROM: 'LOCAL' });
 *   await t.http.get('/healthz').expect(200);
 *   afterAll(() => t.close());
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import supertest from 'supertest';
import type { Express } from 'express';
import { createApp } from '../../src/app.ts';
import { ManualClock, systemClock, type Clock } from '../../src/clock.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createDeps, type AppDeps } from '../../src/deps.ts';
import { createLogger } from '../../src/log.ts';
import { createTestDatabase } from './database.ts';
import { TEST_TMP } from './env.ts';

export interface TestApp {
  config: Config;
  deps: AppDeps;
  app: Express;
  db: AppDeps['database']['prisma'];
  clock: Clock;
  mediaRoot: string;
  http: ReturnType<typeof supertest>;
  /** Listens on a free loopback port (for real clients: nginx, curl, a browser). */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  clock?: ManualClock;
}

/** Settings every test starts from; a test overrides what it is about. */
export function testEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SESSION_SECRET: 'test-session-secret-that-is-long-enough-0123456789',
    // The production default (2^17) costs ~300 ms per hash; tests check the format separately.
    PASSWORD_SCRYPT_N: '1024',
    // Many apps live at once in a run; each keeps its own pool against one PostgreSQL server.
    DATABASE_POOL_MAX: '4',
    ...overrides,
  };
}

export async function startTestApp(
  env: Record<string, string | undefined> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  const database = await createTestDatabase();
  // A private parent, so tests can check that nothing was written beside MEDIA_ROOT.
  const sandbox = fs.mkdtempSync(path.join(TEST_TMP, 'app-'));
  const mediaRoot = path.join(sandbox, 'media');
  fs.mkdirSync(mediaRoot);
  const config = loadConfig(testEnv({ DATABASE_URL: database.url, MEDIA_ROOT: mediaRoot, ...env }));
  const clock = options.clock ?? systemClock;
  const deps = await createDeps(config, { clock, log: createLogger(config) });
  const app = createApp(deps);
  let server: http.Server | undefined;

  return {
    config,
    deps,
    app,
    db: deps.database.prisma,
    clock,
    mediaRoot,
    http: supertest(app),
    async listen() {
      if (!server) {
        server = http.createServer(app);
        await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      }
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async close() {
      if (server) {
        server.closeAllConnections();
        await new Promise((resolve) => server!.close(resolve));
      }
      await deps.close();
      await database.drop();
      fs.rmSync(sandbox, { recursive: true, force: true });
    },
  };
}
