/**
 * Several app instances share one PostgreSQL database behind one nginx upstream: under
 * concurrent load the stored count equals the number of successful downloads exactly.
 */
import fs from 'node:fs';
import http from 'node:http';
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { nginxBinary, onPostgres, servicesRequired } from '../helpers/env.ts';
import { buildDownload } from '../helpers/factories.ts';
import { startNginx, type RunningNginx } from '../helpers/nginx.ts';
import { startServerProcess, type ServerProcess } from '../helpers/processes.ts';

// PostgreSQL is what scale-out means here; on SQLite this file has nothing to check.
describe.runIf(onPostgres && (nginxBinary || servicesRequired))('two app processes behind one nginx (PostgreSQL)', { timeout: 120_000 }, () => {
  let t: TestApp;
  let nginx: RunningNginx;
  const apps: ServerProcess[] = [];

  beforeAll(async () => {
    t = await startTestApp({ DOWNLOAD_SERVE_FROM: 'LOCAL' });
    const env = { DATABASE_URL: t.config.database.url, MEDIA_ROOT: t.mediaRoot, DOWNLOAD_SERVE_FROM: 'LOCAL', LOG_LEVEL: 'info' };
    apps.push(await startServerProcess(env), await startServerProcess(env));
    nginx = await startNginx({ upstreams: apps.map((a) => new URL(a.url).host), mediaRoot: t.mediaRoot });
  });
  afterAll(async () => {
    await nginx?.stop();
    for (const app of apps) await app.stop();
    await t?.close();
  });

  test('2,000 downloads at 64 at a time are counted exactly, by both instances', async () => {
    const d = await buildDownload(t, { content: crypto.randomBytes(10_240) });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const statuses: number[] = [];
    let next = 0;
    const worker = async () => {
      while (next < 2000) {
        next++;
        statuses.push(
          await new Promise<number>((resolve, reject) => {
            http.get(`${nginx.url}/downloads/${d.slug}/file`, { agent }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode!));
            }).on('error', reject);
          }),
        );
      }
    };
    await Promise.all(Array.from({ length: 64 }, worker));
    agent.destroy();

    const ok = statuses.filter((s) => s === 200).length;
    expect(ok).toBe(2000);
    const row = await t.db.download.findUniqueOrThrow({ where: { id: d.id } });
    expect(Number(row.downloadCount)).toBe(ok);
    expect(await t.db.downloadEvent.count({ where: { downloadId: d.id, counted: true } })).toBe(ok);
    // Both instances took a share (nginx logs which upstream answered each request).
    const log = fs.readFileSync(nginx.accessLogPath, 'utf8');
    for (const app of apps) expect(log).toContain(`"upstream_addr":"${new URL(app.url).host}"`);
  });
});
