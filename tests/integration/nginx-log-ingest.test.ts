/**
 * ingest-nginx-log: nginx's access log tells which downloads were delivered in full and which
 * counted requests never got an answer; the events and counts follow it.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { eventIdSuffix } from '../../src/lib/event-ids.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { nginxBinary, skipWithout } from '../helpers/env.ts';
import { buildDownload } from '../helpers/factories.ts';
import { startNginx, type RunningNginx } from '../helpers/nginx.ts';
import { runCli } from '../helpers/processes.ts';

const lines = (...objects: object[]) => Readable.from(objects.map((o) => `${JSON.stringify(o)}\n`).join(''));
const line = (over: Record<string, string>) => ({
  time: '2026-01-01T00:00:00+00:00',
  msec: '1767225600.500',
  request_id: crypto.randomBytes(16).toString('hex'),
  method: 'GET',
  path: '/downloads/x/file',
  status: '200',
  body_bytes_sent: '100',
  request_completion: 'OK',
  content_range: '',
  request_time: '0.010',
  event: '',
  ...over,
});

describe('reading the access log', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ DOWNLOAD_SERVE_FROM: 'LOCAL' });
  });
  afterAll(() => t?.close());

  async function servedEvent(content = 'x'.repeat(100)) {
    const d = await buildDownload(t, { content });
    const res = await t.http.get(`/downloads/${d.slug}/file`).expect(200);
    return { download: d, id: res.headers['x-download-event'] as string };
  }
  const count = async (id: number) => Number((await t.db.download.findUniqueOrThrow({ where: { id } })).downloadCount);

  test('a complete 200 marks the event completed with its bytes; a short one is abandoned', async () => {
    const full = await servedEvent();
    const short = await servedEvent();
    const report = await t.deps.ingestNginxLog(
      lines(line({ event: full.id }), line({ event: short.id, request_completion: '', body_bytes_sent: '40' })),
    );
    expect(report).toMatchObject({ lines: 2, events: 2, completed: 1, abandoned: 1, retracted: 0, unknown: 0 });
    expect(await t.db.downloadEvent.findUniqueOrThrow({ where: { id: full.id } })).toMatchObject({ completed: true, bytesSent: 100n });
    expect(await t.db.downloadEvent.findUniqueOrThrow({ where: { id: short.id } })).toMatchObject({ completed: false, bytesSent: 40n });
    // Started is not finished, but it was a download: the counts stay.
    expect(await count(short.download.id)).toBe(1);
  });

  test('a 499 takes back the count, once, however often the log is read', async () => {
    const gone = await servedEvent();
    const log = () => lines(line({ event: gone.id, status: '499', body_bytes_sent: '0', request_completion: '' }));
    expect((await t.deps.ingestNginxLog(log())).retracted).toBe(1);
    expect((await t.deps.ingestNginxLog(log())).retracted).toBe(0);
    expect(await count(gone.download.id)).toBe(0);
  });

  test('a 499 nginx logged before the app answered is found through its request id', async () => {
    const d = await buildDownload(t, {});
    const requestId = crypto.randomBytes(16).toString('hex');
    const res = await t.http.get(`/downloads/${d.slug}/file`).set('X-Request-Id', requestId).expect(200);
    // supertest comes from loopback, a trusted proxy: the event id carries the request id.
    expect(res.headers['x-download-event']).toMatch(new RegExp(`-${eventIdSuffix(requestId)}$`));
    const report = await t.deps.ingestNginxLog(
      lines(line({ request_id: requestId, status: '499', body_bytes_sent: '0', request_completion: '', msec: String(Date.now() / 1000), request_time: '0.050' })),
    );
    expect(report).toMatchObject({ events: 1, retracted: 1, unknown: 0 });
    expect(await count(d.id)).toBe(0);
  });

  test('unknown event ids, other paths and broken lines are reported, not fatal', async () => {
    const report = await t.deps.ingestNginxLog(
      Readable.from(
        [
          JSON.stringify(line({ event: '01a1fca5-4a1a-772d-8cf8-2ae788ebf13e' })),
          JSON.stringify(line({ path: '/healthz' })),
          '{"truncated": ',
          'not json at all',
          '',
        ].join('\n'),
      ),
    );
    expect(report).toMatchObject({ lines: 4, events: 1, unknown: 1, malformed: 2 });
  });
});

describe.skipIf(skipWithout(nginxBinary))('with the log of a real nginx', () => {
  let t: TestApp;
  let nginx: RunningNginx;
  beforeAll(async () => {
    t = await startTestApp({ DOWNLOAD_SERVE_FROM: 'LOCAL' });
    nginx = await startNginx({ upstreams: [new URL(await t.listen()).host], mediaRoot: t.mediaRoot });
  });
  afterAll(async () => {
    await nginx?.stop();
    await t?.close();
  });

  test('npm run cli -- ingest-nginx-log marks a real download completed and an abandoned one not', async () => {
    const d = await buildDownload(t, { content: crypto.randomBytes(8 * 1024 * 1024) });
    await fetch(`${nginx.url}/downloads/${d.slug}/file`).then((r) => r.arrayBuffer());
    await new Promise<void>((resolve) => {
      http.get(`${nginx.url}/downloads/${d.slug}/file`, (res) => {
        res.once('data', () => {
          res.destroy();
          resolve();
        });
      });
    });
    await vi.waitFor(() => expect(fs.readFileSync(nginx.accessLogPath, 'utf8').trim().split('\n')).toHaveLength(2));
    const result = runCli(['ingest-nginx-log', nginx.accessLogPath], { DATABASE_URL: t.config.database.url, MEDIA_ROOT: t.mediaRoot, LOG_LEVEL: 'warn' });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ lines: 2, events: 2, completed: 1, abandoned: 1 });
    const events = await t.db.downloadEvent.findMany({ where: { downloadId: d.id }, orderBy: { id: 'asc' } });
    expect(events.map((e) => e.completed)).toEqual([true, false]);
    expect(Number(events[0]!.bytesSent)).toBe(8 * 1024 * 1024);

    const stdin = runCli(['ingest-nginx-log'], { DATABASE_URL: t.config.database.url, MEDIA_ROOT: t.mediaRoot, LOG_LEVEL: 'warn' }, fs.readFileSync(nginx.accessLogPath, 'utf8'));
    expect(JSON.parse(stdin.stdout)).toMatchObject({ lines: 2, events: 2 });
    const missing = runCli(['ingest-nginx-log', path.join(nginx.dir, 'nope.log')], { DATABASE_URL: t.config.database.url, MEDIA_ROOT: t.mediaRoot });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('No such file');
  });
});
