/**
 * The app in LOCAL mode behind a real nginx running the shipped template: what a visitor gets,
 * what is counted, and what nginx refuses.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { nginxBinary, skipWithout } from '../helpers/env.ts';
import { buildDownload } from '../helpers/factories.ts';
import { startNginx, type RunningNginx } from '../helpers/nginx.ts';

// Async, never execFileSync: the app answering these clients runs in this very process.
const run = promisify(execFile);

describe.skipIf(skipWithout(nginxBinary))('downloads through nginx (LOCAL mode)', () => {
  let t: TestApp;
  let nginx: RunningNginx;
  const content = crypto.randomBytes(3 * 1024 * 1024 + 17);
  let download: Awaited<ReturnType<typeof buildDownload>>;

  beforeAll(async () => {
    t = await startTestApp({ DOWNLOAD_SERVE_FROM: 'LOCAL' });
    const app = new URL(await t.listen());
    nginx = await startNginx({ upstreams: [app.host], mediaRoot: t.mediaRoot });
    download = await buildDownload(t, { title: 'Through nginx', content, originalName: 'big file ☃.bin' });
  });
  afterAll(async () => {
    await nginx?.stop();
    await t?.close();
  });

  const url = (p = `/downloads/${download.slug}/file`) => `${nginx.url}${p}`;
  const count = async (id = download.id) => Number((await t.db.download.findUniqueOrThrow({ where: { id } })).downloadCount);
  const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

  function get(target: string, headers: Record<string, string> = {}, method = 'GET') {
    return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const req = http.request(target, { method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  test('the file arrives byte-identical with the app\'s headers and the internal location\'s security headers', async () => {
    const before = await count();
    const res = await get(url());
    expect(res.status).toBe(200);
    expect(sha(res.body)).toBe(sha(content));
    expect(res.headers['content-length']).toBe(String(content.length));
    expect(res.headers['content-disposition']).toBe(`attachment; filename="big file ?.bin"; filename*=UTF-8''big%20file%20%E2%98%83.bin`);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toBe("default-src 'none'; sandbox");
    expect(res.headers['x-accel-redirect']).toBeUndefined();
    expect(res.headers['x-download-event']).toBeUndefined();
    expect(await count()).toBe(before + 1);
  });

  test('a Range request through nginx is served by nginx and, as a resume, not counted', async () => {
    const before = await count();
    const res = await get(url(), { Range: 'bytes=1000-1999' });
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes 1000-1999/${content.length}`);
    expect(res.body.equals(content.subarray(1000, 2000))).toBe(true);
    expect(await count()).toBe(before);
    const event = await t.db.downloadEvent.findFirstOrThrow({ where: { downloadId: download.id, outcome: 'resumed' } });
    expect(event).toMatchObject({ status: 206, rangeStart: 1000n, counted: false });
  });

  test('HEAD through nginx has headers, no body, and is not counted', async () => {
    const before = await count();
    const res = await get(url(), {}, 'HEAD');
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe(String(content.length));
    expect(res.body.length).toBe(0);
    expect(await count()).toBe(before);
  });

  test('real clients resume an interrupted download into an identical file, counted once', async () => {
    const dir = fs.mkdtempSync(path.join(nginx.dir, 'clients-'));
    const before = await count();
    // The first attempt stops after 1 MiB; curl then resumes it with a Range request.
    const partial = path.join(dir, 'curl.bin');
    fs.writeFileSync(partial, (await get(url(), { Range: 'bytes=0-1048575' })).body);
    await run('curl', ['-sS', '-f', '-C', '-', '-o', partial, url()]);
    expect(sha(fs.readFileSync(partial))).toBe(sha(content));
    expect(await count()).toBe(before + 1);

    const wgetFile = path.join(dir, 'wget.bin');
    fs.writeFileSync(wgetFile, content.subarray(0, 2_000_000));
    await run('wget', ['-q', '-c', '-O', wgetFile, url()]);
    expect(sha(fs.readFileSync(wgetFile))).toBe(sha(content));
    expect(await count()).toBe(before + 1); // wget only fetched the missing end

    await run('aria2c', ['-q', '-x4', '-s4', '--min-split-size=1M', '--allow-overwrite=true', '-d', dir, '-o', 'aria.bin', url()]);
    expect(sha(fs.readFileSync(path.join(dir, 'aria.bin')))).toBe(sha(content));
    // aria2 fetched four ranges over four connections: the one from byte 0 counts.
    expect(await count()).toBe(before + 2);
  });

  test('the internal location is 404 from outside, and traversal attempts go nowhere', async () => {
    for (const target of [
      `/media/downloads/${download.fileKey}`,
      '/media/../../etc/passwd',
      '/media/..%2f..%2fetc%2fpasswd',
      `/media/downloads/${download.fileKey}/../../../etc/passwd`,
      '/downloads/..%2F..%2Fetc%2Fpasswd/file',
      '/downloads/%2e%2e/file',
    ]) {
      const res = await get(`${nginx.url}${target}`);
      expect([400, 404], target).toContain(res.status);
      expect(res.body.toString()).not.toContain('root:');
    }
  });

  test('the access log line of a download carries its event id, status and bytes', async () => {
    const res = await get(url(), { Range: 'bytes=0-99' });
    expect(res.status).toBe(206);
    const event = await t.db.downloadEvent.findFirstOrThrow({ where: { downloadId: download.id }, orderBy: { id: 'desc' } });
    const line = await vi.waitFor(() => {
      const found = fs.readFileSync(nginx.accessLogPath, 'utf8').split('\n').find((l) => l.includes(event.id));
      if (!found) throw new Error('not logged yet');
      return JSON.parse(found) as Record<string, string>;
    });
    expect(line).toMatchObject({ status: '206', body_bytes_sent: '100', request_completion: 'OK', event: event.id });
  });

  test('the client address reaches the event through nginx (trusted proxy), truncated', async () => {
    await get(url(), { 'X-Forwarded-For': '198.51.100.23' });
    const event = await t.db.downloadEvent.findFirstOrThrow({ where: { downloadId: download.id }, orderBy: { id: 'desc' } });
    // nginx appends the real peer (127.0.0.1); the app takes the last untrusted address.
    expect(event.ip).toBe('198.51.100.0');
  });

  test('300 concurrent downloads through nginx: the stored count equals the number of 200s', async () => {
    const small = await buildDownload(t, { content: crypto.randomBytes(10_240) });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
    const statuses = await Promise.all(
      Array.from({ length: 300 }, () =>
        new Promise<number>((resolve, reject) => {
          http.get(url(`/downloads/${small.slug}/file`), { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          }).on('error', reject);
        }),
      ),
    );
    agent.destroy();
    const ok = statuses.filter((s) => s === 200).length;
    expect(ok).toBe(300);
    expect(await count(small.id)).toBe(ok);
  });
});
