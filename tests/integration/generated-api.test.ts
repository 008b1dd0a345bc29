/**
 * Generated downloads through the JSON API: `kind=text-overlay` with a background and the box,
 * font and colour fields (CONTRACT.md), edits by PATCH, and bad input refused with a 422 that
 * leaves nothing behind (issue 7 "Bad input").
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { createUser } from '../helpers/auth.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { listFiles } from '../helpers/factories.ts';
import { OVERLAY_SETTINGS, cachedFiles, stagingFolders } from '../helpers/generated.ts';
import { pngHeaderOnly, solidBackground } from '../helpers/images.ts';
import { buildZip } from '../helpers/zip.ts';

let t: TestApp;
let key: string;
let background: Buffer;
beforeAll(async () => {
  t = await startTestApp({ PUBLIC_URL: 'https://downloads.example.com' });
  key = (await t.deps.users.createApiKey((await createUser(t, 'editor')).username)).key;
  background = await solidBackground('png');
});
afterAll(() => t?.close());

const sha = (data: Buffer) => crypto.createHash('sha256').update(data).digest('hex');

function post(fields: Record<string, string>, files: Record<string, [Buffer, string, string?]> = { background: [background, 'card.png'] }) {
  let req = t.http.post('/api/v1/downloads').set('Authorization', `Bearer ${key}`);
  for (const [name, value] of Object.entries(fields)) req = req.field(name, value);
  for (const [name, [data, fileName, contentType]] of Object.entries(files)) req = req.attach(name, data, { filename: fileName, contentType: contentType ?? 'image/png' });
  return req;
}

const overlay = (fields: Record<string, string> = {}) => ({ kind: 'text-overlay', title: 'Certificate', state: 'published', ...OVERLAY_SETTINGS, ...fields });

describe('POST /api/v1/downloads with kind=text-overlay', () => {
  test('answers 201 with the download JSON; the background is stored under an opaque key, nothing is rendered yet', async () => {
    const res = await post(overlay({ title: 'Course certificate' })).expect(201);
    expect(res.headers.location).toBe('/api/v1/downloads/course-certificate');
    expect(res.body).toMatchObject({
      slug: 'course-certificate',
      kind: 'text-overlay',
      fileName: null,
      size: null,
      sha256: null,
      mimeType: 'image/jpeg',
      downloadCount: 0,
      state: 'published',
      fileUrl: 'https://downloads.example.com/downloads/course-certificate/file',
      generator: {
        kind: 'text-overlay',
        settings: { text: 'Hello {name}', x: 96, y: 96, width: 608, height: 240, font: 'dejavu-sans', fontSize: 40, colour: '#ffee00', align: 'left' },
      },
    });
    const row = await t.db.generatorSettings.findUniqueOrThrow({ where: { downloadId: res.body.id } });
    expect(row).toMatchObject({ kind: 'text-overlay', assetSha256: sha(background) });
    expect(row.assetKey).toMatch(/^[0-9a-f]{2}\/[0-9a-f]{32}$/);
    expect(fs.readFileSync(t.deps.files.pathOf(row.assetKey!)).equals(background)).toBe(true);
    expect(cachedFiles(t)).toEqual([]);
  });

  test('a served file name can be given; the other download fields work as for uploads', async () => {
    const res = await post(overlay({ title: 'Named card', fileName: 'my card.jpg', labels: 'Type:Image', category: 'Cards', requiresToken: 'true' })).expect(201);
    expect(res.body).toMatchObject({ fileName: 'my card.jpg', labels: ['Type:Image'], primaryCategory: { slug: 'cards' }, requiresToken: true });
  });

  test('PATCH with JSON changes the settings it names and keeps the others', async () => {
    const created = (await post(overlay({ title: 'Patch me' })).expect(201)).body;
    const res = await t.http
      .patch(`/api/v1/downloads/${created.slug}`)
      .set('Authorization', `Bearer ${key}`)
      .send({ text: 'Goodbye {name}', colour: '#00FF00', fontSize: 32, title: 'Patched' })
      .expect(200);
    expect(res.body.title).toBe('Patched');
    expect(res.body.generator.settings).toMatchObject({ text: 'Goodbye {name}', colour: '#00ff00', fontSize: 32, x: 96, width: 608 });
  });

  test('PATCH with a new background replaces the stored one and removes the old file', async () => {
    const created = (await post(overlay({ title: 'New background' })).expect(201)).body;
    const before = await t.db.generatorSettings.findUniqueOrThrow({ where: { downloadId: created.id } });
    const jpeg = await solidBackground('jpeg', 800, 400);
    await t.http
      .patch(`/api/v1/downloads/${created.slug}`)
      .set('Authorization', `Bearer ${key}`)
      .attach('background', jpeg, 'new.jpg')
      .expect(200);
    const after = await t.db.generatorSettings.findUniqueOrThrow({ where: { downloadId: created.id } });
    expect(after.assetSha256).toBe(sha(jpeg));
    expect(after.assetKey).not.toBe(before.assetKey);
    expect(fs.existsSync(t.deps.files.pathOf(before.assetKey!))).toBe(false);
  });

  test('a PATCH that would break the image is refused and changes nothing', async () => {
    const created = (await post(overlay({ title: 'Keep me' })).expect(201)).body;
    const res = await t.http.patch(`/api/v1/downloads/${created.slug}`).set('Authorization', `Bearer ${key}`).send({ x: 1000, title: 'Changed' }).expect(422);
    expect(res.body.error).toMatchObject({ code: 'BOX_OUTSIDE_IMAGE' });
    expect(res.body.error.message).toContain('must lie inside the 1200×630-pixel background');
    expect((await t.http.get(`/api/v1/downloads/${created.slug}`).set('Authorization', `Bearer ${key}`)).body).toMatchObject({
      title: 'Keep me',
      generator: { settings: { x: 96 } },
    });
  });

  test('deleting a generated download deletes its background', async () => {
    const created = (await post(overlay({ title: 'Delete me' })).expect(201)).body;
    const { assetKey } = await t.db.generatorSettings.findUniqueOrThrow({ where: { downloadId: created.id } });
    await t.http.delete(`/api/v1/downloads/${created.slug}`).set('Authorization', `Bearer ${key}`).expect(204);
    expect(fs.existsSync(t.deps.files.pathOf(assetKey!))).toBe(false);
  });
});

describe('bad input: 422 with a message, never a 500, nothing left behind', () => {
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="2000" height="2000"><rect width="2000" height="2000"/></svg>');
  const script = Buffer.from('#!/bin/sh\necho owned\n');

  test.each([
    ['a 16000×16000 background', {}, () => pngHeaderOnly(16_000, 16_000), 'IMAGE_TOO_LARGE', 'the largest allowed is 40 megapixels'],
    ['an SVG named .png', {}, () => svg, 'IMAGE_INVALID', 'must be a JPEG, PNG or WebP image'],
    ['a script renamed .png', {}, () => script, 'IMAGE_INVALID', 'must be a JPEG, PNG or WebP image'],
    ['a truncated PNG', {}, () => background.subarray(0, 3000), 'IMAGE_INVALID', 'damaged or incomplete'],
    ['a 20,000-character text', { text: 'x'.repeat(20_000) }, () => background, 'SETTINGS_INVALID', 'at most 2000 characters'],
    ['the colour red', { colour: 'red' }, () => background, 'SETTINGS_INVALID', 'Use a colour like #1a2b3c.'],
    ['the colour #12345g', { colour: '#12345g' }, () => background, 'SETTINGS_INVALID', 'Use a colour like #1a2b3c.'],
    ['a box outside the background', { x: '1000' }, () => background, 'BOX_OUTSIDE_IMAGE', 'must lie inside'],
    ['a box too low for one line', { height: '20' }, () => background, 'SETTINGS_INVALID', 'one line of 40-pixel DejaVu Sans needs'],
    ['a font that is not bundled', { font: '../../etc/passwd' }, () => background, 'SETTINGS_INVALID', 'Choose one of the fonts'],
    ['a width that is not a number', { width: '12px' }, () => background, 'SETTINGS_INVALID', 'must be a number of pixels'],
    ['an unknown kind', { kind: 'pdf-certificate' }, () => background, 'KIND_UNKNOWN', 'the generated kinds are: example-text-file, text-overlay'],
  ])('%s', async (_case, fields: Record<string, string>, data, code, message) => {
    const before = listFiles(t.mediaRoot);
    const res = await post(overlay({ title: `Bad ${code}`, ...fields }), { background: [data(), 'background.png'] });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message).toContain(message);
    expect(await t.db.download.count({ where: { title: `Bad ${code}` } })).toBe(0);
    await vi.waitFor(() => expect(stagingFolders(t)).toEqual([]));
    expect(listFiles(t.mediaRoot)).toEqual(before);
    expect(cachedFiles(t)).toEqual([]);
  });

  test('no background, or a file instead of one, is refused', async () => {
    const missing = await post(overlay({ title: 'No background' }), {}).expect(422);
    expect(missing.body.error).toMatchObject({ code: 'ASSET_MISSING', message: 'Choose a file for “Background image”.' });
    const both = await post(overlay({ title: 'With a file' }), { background: [background, 'bg.png'], file: [Buffer.from('x'), 'x.bin'] }).expect(422);
    expect(both.body.error.code).toBe('SOURCE_CONFLICT');
    const remote = await post(overlay({ title: 'With a URL', remoteUrl: 'https://example.com/x.jpg' })).expect(422);
    expect(remote.body.error.code).toBe('SOURCE_CONFLICT');
    await vi.waitFor(() => expect(stagingFolders(t)).toEqual([]));
  });

  test('markup in the text is not bad input: it is kept as typed', async () => {
    const text = '<b>Bold?</b> & <span size="100000">HUGE</span>';
    const res = await post(overlay({ title: 'Markup', text })).expect(201);
    expect(res.body.generator.settings.text).toBe(text);
  });
});

describe('archive import', () => {
  test('cannot replace the file of a generated download', async () => {
    const created = (await post(overlay({ title: 'Archived card', fileName: 'card.jpg' })).expect(201)).body;
    const manifest = '<?xml version="1.0"?><manifest><file><name>card.jpg</name><summary>New card</summary><replaces>card.jpg</replaces></file></manifest>';
    const res = await t.http
      .post('/api/v1/archives')
      .set('Authorization', `Bearer ${key}`)
      .attach('archive', buildZip({ 'manifest.xml': manifest, 'card.jpg': 'not generated' }), 'release.zip')
      .expect(422);
    expect(res.body.error).toMatchObject({ code: 'NOT_REPLACEABLE', name: 'card.jpg' });
    expect(await t.db.download.findUniqueOrThrow({ where: { id: created.id } })).toMatchObject({ kind: 'text-overlay', fileKey: null });
  });
});
