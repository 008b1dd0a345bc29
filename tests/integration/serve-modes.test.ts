/** LOCAL and REMOTE delivery as the app answers them (nginx itself: serve-nginx.test.ts). */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { buildDownload } from '../helpers/factories.ts';

describe('LOCAL: the internal-redirect header for the front server', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ DOWNLOAD_SERVE_FROM: 'LOCAL', MEDIA_URL: '/protected/' });
  });
  afterAll(() => t?.close());

  test('answers 200 with an empty body, MEDIA_URL + the opaque key, and the headers nginx keeps', async () => {
    const d = await buildDownload(t, { content: 'x'.repeat(100), originalName: '../../evil name ☃.zip' });
    const res = await t.http.get(`/downloads/${d.slug}/file`).expect(200);
    expect(res.text).toBe('');
    expect(res.headers['x-accel-redirect']).toBe(`/protected/downloads/${d.fileKey}`);
    expect(res.headers['x-accel-redirect']).toMatch(/^\/protected\/downloads\/[0-9a-f]{2}\/[0-9a-f]{32}$/);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="evil name ?.zip"; filename*=UTF-8''evil%20name%20%E2%98%83.zip`);
    expect(res.headers['cache-control']).toBe('no-store');
    const event = await t.db.downloadEvent.findFirstOrThrow({ where: { downloadId: d.id } });
    expect(res.headers['x-download-event']).toBe(event.id);
    expect(Number((await t.db.download.findUniqueOrThrow({ where: { id: d.id } })).downloadCount)).toBe(1);
  });

  test('the app answers conditional requests itself (nginx is told not to), uncounted', async () => {
    const d = await buildDownload(t, { content: 'local conditional' });
    await t.http.get(`/downloads/${d.slug}/file`).expect(200);
    // nginx gives clients the file's Last-Modified (ETags are off there); they send it back.
    const lastModified = fs.statSync(path.join(t.mediaRoot, 'downloads', d.fileKey!)).mtime.toUTCString();
    const again = await t.http.get(`/downloads/${d.slug}/file`).set('If-Modified-Since', lastModified).expect(304);
    expect(again.headers['x-accel-redirect']).toBeUndefined();
    expect(Number((await t.db.download.findUniqueOrThrow({ where: { id: d.id } })).downloadCount)).toBe(1);
  });

  test('a Range resume is handed to nginx and recorded as a resume', async () => {
    const d = await buildDownload(t, { content: '0123456789' });
    const res = await t.http.get(`/downloads/${d.slug}/file`).set('Range', 'bytes=5-').expect(200);
    expect(res.headers['x-accel-redirect']).toBe(`/protected/downloads/${d.fileKey}`);
    const event = await t.db.downloadEvent.findFirstOrThrow({ where: { downloadId: d.id } });
    expect(event).toMatchObject({ outcome: 'resumed', status: 206, counted: false });
  });

  test('another server\'s header name is used when configured', async () => {
    const apache = await startTestApp({ DOWNLOAD_SERVE_FROM: 'LOCAL', DOWNLOAD_INTERNAL_REDIRECT_HEADER: 'X-Sendfile' });
    try {
      const d = await buildDownload(apache, {});
      const res = await apache.http.get(`/downloads/${d.slug}/file`).expect(200);
      expect(res.headers['x-sendfile']).toBe(`/media/downloads/${d.fileKey}`);
      expect(res.headers['x-accel-redirect']).toBeUndefined();
    } finally {
      await apache.close();
    }
  });
});

describe('REMOTE: a redirect to the remote copy', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ DOWNLOAD_SERVE_FROM: 'REMOTE', DOWNLOAD_REMOTE_BASE_URL: 'https://cdn.example.com/files/' });
  });
  afterAll(() => t?.close());

  test('stored files redirect (302, no-store) to the base URL + their stored path, counted', async () => {
    const d = await buildDownload(t, { content: 'remote' });
    const res = await t.http.get(`/downloads/${d.slug}/file`).expect(302);
    expect(res.headers.location).toBe(`https://cdn.example.com/files/downloads/${d.fileKey}`);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(await t.db.downloadEvent.findFirstOrThrow({ where: { downloadId: d.id } })).toMatchObject({ status: 302, counted: true });
  });

  test('a remote download redirects to its own URL in every mode', async () => {
    const d = await buildDownload(t, { remoteUrl: 'https://mirror.example.org/pub/tool.iso' });
    const res = await t.http.get(`/downloads/${d.slug}/file`).expect(302);
    expect(res.headers.location).toBe('https://mirror.example.org/pub/tool.iso');
    const app = await startTestApp();
    try {
      const other = await buildDownload(app, { remoteUrl: 'https://mirror.example.org/pub/tool.iso' });
      expect((await app.http.get(`/downloads/${other.slug}/file`).expect(302)).headers.location).toBe('https://mirror.example.org/pub/tool.iso');
    } finally {
      await app.close();
    }
  });

  test('HEAD is redirected too, and not counted', async () => {
    const d = await buildDownload(t, {});
    await t.http.head(`/downloads/${d.slug}/file`).expect(302);
    expect(Number((await t.db.download.findUniqueOrThrow({ where: { id: d.id } })).downloadCount)).toBe(0);
  });
});
