/**
 * Serving generated downloads in APP (and REMOTE) mode: the image a visitor gets, the cache
 * behind it, and counting, events and tokens exactly as for stored files.
 */
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { renderTextOverlay } from '../../src/generators/text-overlay.ts';
import { createUser, signedInAgent } from '../helpers/auth.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { buildDownload } from '../helpers/factories.ts';
import { OVERLAY_SETTINGS, buildOverlay, cachedFiles } from '../helpers/generated.ts';
import { BLUE, decode, difference, solidBackground } from '../helpers/images.ts';

/** supertest collects a binary body when told how (its types only know text parsers). */
const binary = ((res: http.IncomingMessage, done: (e: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => done(null, Buffer.concat(chunks)));
}) as never;

const countOf = async (t: TestApp, id: number) => Number((await t.db.download.findUniqueOrThrow({ where: { id } })).downloadCount);
const lastEvent = (t: TestApp, downloadId: number) => t.db.downloadEvent.findFirstOrThrow({ where: { downloadId }, orderBy: { id: 'desc' } });

describe('APP mode', () => {
  let t: TestApp;
  let background: Buffer;
  beforeAll(async () => {
    t = await startTestApp({ RENDER_RATE_LIMIT: '0' });
    background = await solidBackground('png');
  });
  afterAll(() => t?.close());

  const get = (url: string) => t.http.get(url).buffer(true).parse(binary);

  test('the image has the background’s size and the text drawn inside the box', async () => {
    const d = await buildOverlay(t);
    const res = await get(`/downloads/${d.slug}/file?name=Ada`).expect(200);
    expect(res.headers['content-type']).toBe('image/jpeg');
    const pixels = await decode(res.body as Buffer);
    expect([pixels.width, pixels.height]).toEqual([1200, 630]);
    // Outside the box: the background; the start of the first line: ink.
    expect(difference(pixels.at(20, 20), BLUE)).toBeLessThanOrEqual(2);
    let inked = 0;
    for (let y = 96; y < 150; y++) for (let x = 96; x < 300; x++) if (difference(pixels.at(x, y), BLUE) > 60) inked++;
    expect(inked).toBeGreaterThan(100);
  });

  test('placeholders are filled: the bytes equal a render of the literal text', async () => {
    const d = await buildOverlay(t);
    const ada = (await get(`/downloads/${d.slug}/file?name=Ada`).expect(200)).body as Buffer;
    const grace = (await get(`/downloads/${d.slug}/file?name=Grace`).expect(200)).body as Buffer;
    expect(ada.equals(grace)).toBe(false);
    const literal = await renderTextOverlay({ background, settings: { ...numeric(OVERLAY_SETTINGS), text: 'Hello Ada' } });
    expect(ada.equals(literal)).toBe(true);
  });

  test('markup in the text and in the query is drawn as characters', async () => {
    const d = await buildOverlay(t, { settings: { text: '<b>{name}</b> &amp;' } });
    const res = await get(`/downloads/${d.slug}/file?name=${encodeURIComponent('<span size="99999">x</span>')}`).expect(200);
    const literal = await renderTextOverlay({ background, settings: { ...numeric(OVERLAY_SETTINGS), text: '<b><span size="99999">x</span></b> &amp;' } });
    expect((res.body as Buffer).equals(literal)).toBe(true);
  });

  test('an identical request gets the identical bytes from the same cached file, under downloads/tmp/', async () => {
    const d = await buildOverlay(t, { settings: { text: 'Same {name}' } });
    const before = cachedFiles(t).length;
    const first = await get(`/downloads/${d.slug}/file?name=Ada`).expect(200);
    const second = await get(`/downloads/${d.slug}/file?name=Ada&unrelated=1`).expect(200);
    expect((first.body as Buffer).equals(second.body as Buffer)).toBe(true);
    expect(cachedFiles(t)).toHaveLength(before + 1);
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    expect(cachedFiles(t)).toContain(`${etag.slice(1, -1)}.jpg`);
    expect(fs.readFileSync(path.join(t.config.generated.dir, `${etag.slice(1, -1)}.jpg`)).equals(first.body as Buffer)).toBe(true);
  });

  test('served as <slug>.jpg, or under the download’s own file name', async () => {
    const plain = await buildOverlay(t, { fields: { title: 'Welcome card' } });
    expect((await get(`/downloads/${plain.slug}/file`).expect(200)).headers['content-disposition']).toBe('attachment; filename=welcome-card.jpg');
    const named = await buildOverlay(t, { fields: { fileName: 'Karte für dich.jpg' } });
    expect((await get(`/downloads/${named.slug}/file`).expect(200)).headers['content-disposition']).toBe(
      `attachment; filename="Karte f?r dich.jpg"; filename*=UTF-8''Karte%20f%C3%BCr%20dich.jpg`,
    );
  });

  test('an anonymous visitor gets {username} left empty; a signed-in one gets their name, also for {name}', async () => {
    const d = await buildOverlay(t, { settings: { text: 'For {name} ({username})' }, fields: { state: 'unpublished' } });
    const { agent, user } = await signedInAgent(t, 'editor');
    const signedIn = (await agent.get(`/downloads/${d.slug}/file`).buffer(true).parse(binary).expect(200)).body as Buffer;
    const literal = await renderTextOverlay({ background, settings: { ...numeric(OVERLAY_SETTINGS), text: `For ${user.username} (${user.username})` } });
    expect(signedIn.equals(literal)).toBe(true);
    await t.db.download.update({ where: { id: d.id }, data: { state: 'published' } });
    t.deps.resolver.clear();
    const anonymous = (await get(`/downloads/${d.slug}/file`).expect(200)).body as Buffer;
    expect(anonymous.equals(await renderTextOverlay({ background, settings: { ...numeric(OVERLAY_SETTINGS), text: 'For  ()' } }))).toBe(true);
  });

  test('counting follows the rules: GET counts; HEAD, a resume and a 304 do not; each leaves an event', async () => {
    const d = await buildOverlay(t);
    const url = `/downloads/${d.slug}/file?name=Ada`;
    const full = await get(url).expect(200);
    expect(await countOf(t, d.id)).toBe(1);
    expect(await lastEvent(t, d.id)).toMatchObject({ outcome: 'served', counted: true, status: 200 });

    await t.http.head(url).expect(200);
    await get(url).set('Range', 'bytes=100-199').expect(206);
    await get(url).set('If-None-Match', full.headers.etag as string).expect(304);
    expect(await countOf(t, d.id)).toBe(1);
    const events = await t.db.downloadEvent.findMany({ where: { downloadId: d.id }, orderBy: { id: 'asc' } });
    expect(events.map((e) => [e.outcome, e.reason])).toEqual([
      ['served', null],
      ['not_counted', 'head'],
      ['resumed', 'range'],
      ['not_counted', 'not_modified'],
    ]);

    const range = await get(url).set('Range', 'bytes=0-99').expect(206);
    expect((range.body as Buffer).equals((full.body as Buffer).subarray(0, 100))).toBe(true);
    expect(await countOf(t, d.id)).toBe(2);
  });

  test('a render that fails is answered 500, recorded as failed and not counted; nothing is left in tmp', async () => {
    const d = await buildOverlay(t);
    const { assetKey } = await t.db.generatorSettings.findUniqueOrThrow({ where: { downloadId: d.id } });
    fs.writeFileSync(t.deps.files.pathOf(assetKey!), 'no longer an image');
    const before = cachedFiles(t);
    const res = await t.http.get(`/downloads/${d.slug}/file?name=Broken`).set('Accept', 'application/json').expect(500);
    expect(res.body.error).toEqual({ code: 'RENDER_FAILED', message: 'This file could not be made.' });
    expect(await countOf(t, d.id)).toBe(0);
    expect(await lastEvent(t, d.id)).toMatchObject({ outcome: 'failed', reason: 'render_failed', status: 500, counted: false });
    expect(cachedFiles(t)).toEqual(before);

    fs.rmSync(t.deps.files.pathOf(assetKey!));
    const missing = await t.http.get(`/downloads/${d.slug}/file?name=Gone`).set('Accept', 'application/json').expect(404);
    expect(missing.body.error.code).toBe('FILE_MISSING');
    expect(await lastEvent(t, d.id)).toMatchObject({ outcome: 'failed', reason: 'file_missing', counted: false });
  });
});

describe('the example kind (the generator API’s second kind)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  test('is made through the API without an input file and serves a personalised text file', async () => {
    const key = (await t.deps.users.createApiKey((await createUser(t, 'editor')).username)).key;
    const created = await t.http
      .post('/api/v1/downloads')
      .set('Authorization', `Bearer ${key}`)
      .field('kind', 'example-text-file')
      .field('title', 'Licence')
      .field('state', 'published')
      .field('template', 'Licensed to {name}.\n<script>stays text</script>')
      .expect(201);
    expect(created.body).toMatchObject({ kind: 'example-text-file', mimeType: 'text/plain; charset=utf-8', generator: { kind: 'example-text-file' } });
    const res = await t.http.get('/downloads/licence/file?name=Ada%20Lovelace').expect(200);
    expect(res.text).toBe('Licensed to Ada Lovelace.\n<script>stays text</script>');
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.headers['content-disposition']).toBe('attachment; filename=licence-personal.txt');
    expect(Number((await t.db.download.findUniqueOrThrow({ where: { id: created.body.id } })).downloadCount)).toBe(1);
    const page = await t.http.get('/downloads/licence').expect(200);
    expect(page.text).toContain('href="/downloads/licence/file"');
  });
});

describe('the render rate limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RENDER_RATE_LIMIT: '2' });
  });
  afterAll(() => t?.close());

  test('new renders beyond the limit get 429 with Retry-After and are not counted; cached files are still served', async () => {
    const d = await buildOverlay(t);
    await t.http.get(`/downloads/${d.slug}/file?name=One`).expect(200);
    await t.http.get(`/downloads/${d.slug}/file?name=Two`).expect(200);
    const limited = await t.http.get(`/downloads/${d.slug}/file?name=Three`).set('Accept', 'application/json').expect(429);
    expect(limited.headers['retry-after']).toBe('30');
    expect(limited.body.error.code).toBe('RENDER_RATE_LIMITED');
    expect(await lastEvent(t, d.id)).toMatchObject({ outcome: 'denied', reason: 'render_rate_limited', status: 429, counted: false });
    expect(await countOf(t, d.id)).toBe(2);
    expect(cachedFiles(t)).toHaveLength(2);
    await t.http.get(`/downloads/${d.slug}/file?name=One`).expect(200);
    expect(await countOf(t, d.id)).toBe(3);
  });
});

describe('tokens', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  test('a single-use link delivers the image once; HEAD uses nothing; then 410; no token is 403', async () => {
    const d = await buildOverlay(t, { fields: { requiresToken: true } });
    const secret = (await t.deps.tokens.issue(d.id, { maxDownloads: 1 }))[0]!.secret;
    await t.http.get(`/downloads/${d.slug}/file`).expect(403);
    expect(cachedFiles(t)).toEqual([]);
    await t.http.head(`/downloads/${d.slug}/file?token=${secret}&name=Ada`).expect(200);
    const first = await t.http.get(`/downloads/${d.slug}/file?token=${secret}&name=Ada`).buffer(true).parse(binary).expect(200);
    expect((await sharp(first.body as Buffer).metadata()).format).toBe('jpeg');
    expect(first.headers['referrer-policy']).toBe('no-referrer');
    const again = await t.http.get(`/downloads/${d.slug}/file?token=${secret}&name=Ada`);
    expect(again.status).toBe(410);
    expect(again.text).toContain('This link has been used 1 time, its limit.');
    expect((await t.db.token.findFirstOrThrow({ where: { downloadId: d.id } })).uses).toBe(1);
    expect(await countOf(t, d.id)).toBe(1);
  });

  test('a wrong token is refused before anything is rendered', async () => {
    const d = await buildOverlay(t, { fields: { requiresToken: true } });
    const before = cachedFiles(t);
    await t.http.get(`/downloads/${d.slug}/file?token=dlt_${'A'.repeat(43)}&name=Nobody`).expect(404);
    expect(cachedFiles(t)).toEqual(before);
  });
});

describe('REMOTE mode', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ DOWNLOAD_SERVE_FROM: 'REMOTE', DOWNLOAD_REMOTE_BASE_URL: 'https://cdn.example.com' });
  });
  afterAll(() => t?.close());

  test('a generated file has no remote copy: the app sends it, while stored files are redirected', async () => {
    const generated = await buildOverlay(t);
    const res = await t.http.get(`/downloads/${generated.slug}/file`).buffer(true).parse(binary).expect(200);
    expect((await sharp(res.body as Buffer).metadata()).width).toBe(1200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(await countOf(t, generated.id)).toBe(1);
    const stored = await buildDownload(t);
    expect((await t.http.get(`/downloads/${stored.slug}/file`).expect(302)).headers.location).toBe(`https://cdn.example.com/downloads/${stored.fileKey}`);
  });
});

/** The form's strings as the schema's numbers. */
function numeric(settings: typeof OVERLAY_SETTINGS) {
  return { ...settings, x: 96, y: 96, width: 608, height: 240, fontSize: 40 };
}
