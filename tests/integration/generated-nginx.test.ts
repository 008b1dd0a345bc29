/**
 * Generated downloads in LOCAL mode behind a real nginx running the shipped template: the app
 * renders (or reuses) the file under MEDIA_ROOT/downloads/tmp/ and hands it to nginx.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { nginxBinary, skipWithout } from '../helpers/env.ts';
import { buildOverlay, cachedFiles } from '../helpers/generated.ts';
import { decode, difference, BLUE } from '../helpers/images.ts';
import { startNginx, type RunningNginx } from '../helpers/nginx.ts';

describe.skipIf(skipWithout(nginxBinary))('generated downloads through nginx (LOCAL mode)', () => {
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

  const count = async (id: number) => Number((await t.db.download.findUniqueOrThrow({ where: { id } })).downloadCount);
  const bytes = async (res: Response) => Buffer.from(await res.arrayBuffer());

  test('nginx sends the cached file with the app’s headers and its own security headers; counted once per GET', async () => {
    const d = await buildOverlay(t, { fields: { title: 'Badge' } });
    const url = `${nginx.url}/downloads/${d.slug}/file?name=Ada`;
    const first = await fetch(url);
    expect(first.status).toBe(200);
    const body = await bytes(first);
    expect(first.headers.get('content-type')).toBe('image/jpeg');
    expect(first.headers.get('content-disposition')).toBe('attachment; filename=badge.jpg');
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.headers.get('x-content-type-options')).toBe('nosniff');
    expect(first.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(first.headers.get('x-accel-redirect')).toBeNull();

    const [name] = cachedFiles(t);
    expect(name).toMatch(/^[0-9a-f]{64}\.jpg$/);
    expect(fs.readFileSync(path.join(t.config.generated.dir, name!)).equals(body)).toBe(true);
    const pixels = await decode(body);
    expect([pixels.width, pixels.height]).toEqual([1200, 630]);
    expect(difference(pixels.at(10, 10), BLUE)).toBeLessThanOrEqual(2);

    const second = await bytes(await fetch(url));
    expect(crypto.createHash('sha256').update(second).digest('hex')).toBe(crypto.createHash('sha256').update(body).digest('hex'));
    expect(cachedFiles(t)).toEqual([name]);
    expect(await count(d.id)).toBe(2);
  });

  test('a Range request is answered by nginx with 206 and, as a resume, not counted', async () => {
    const d = await buildOverlay(t);
    const url = `${nginx.url}/downloads/${d.slug}/file`;
    const full = await bytes(await fetch(url));
    const part = await fetch(url, { headers: { Range: 'bytes=1000-1999' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1000-1999/${full.length}`);
    expect((await bytes(part)).equals(full.subarray(1000, 2000))).toBe(true);
    expect(await count(d.id)).toBe(1);
  });

  test('a single-use link works once through nginx, then 410', async () => {
    const d = await buildOverlay(t, { fields: { requiresToken: true } });
    const secret = (await t.deps.tokens.issue(d.id, { maxDownloads: 1 }))[0]!.secret;
    const url = `${nginx.url}/downloads/${d.slug}/file?token=${secret}&name=Grace`;
    const first = await fetch(url);
    expect(first.status).toBe(200);
    expect((await bytes(first)).subarray(0, 2).toString('hex')).toBe('ffd8');
    expect((await fetch(url)).status).toBe(410);
    expect(await count(d.id)).toBe(1);
  });

  test('the generated files are not reachable from outside', async () => {
    const [name] = cachedFiles(t);
    for (const target of [`/media/downloads/tmp/${name}`, '/media/downloads/tmp/', '/downloads/tmp/file']) {
      const res = await fetch(`${nginx.url}${target}`);
      expect([400, 404], target).toContain(res.status);
    }
  });
});
