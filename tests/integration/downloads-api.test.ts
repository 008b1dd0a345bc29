import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createUser } from '../helpers/auth.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { buildDownload } from '../helpers/factories.ts';

let t: TestApp;
let editorKey: string;
let analystKey: string;
beforeAll(async () => {
  t = await startTestApp({ PUBLIC_URL: 'https://downloads.example.com', UPLOAD_MAX_BYTES: '1M' });
  const editor = await createUser(t, 'editor');
  const analyst = await createUser(t, 'analyst');
  editorKey = (await t.deps.users.createApiKey(editor.username)).key;
  analystKey = (await t.deps.users.createApiKey(analyst.username)).key;
});
afterAll(() => t?.close());

const api = (method: 'get' | 'post' | 'patch' | 'delete', url: string, key = editorKey) =>
  t.http[method](`/api/v1${url}`).set('Authorization', `Bearer ${key}`);

describe('POST /api/v1/downloads', () => {
  test('creates a download from a multipart upload and answers 201 with its JSON', async () => {
    const content = crypto.randomBytes(3000);
    const res = await api('post', '/downloads')
      .field('title', 'API tool 3.0')
      .field('description', 'Built by CI')
      .field('fileName', 'tool-3.0.bin')
      .field('category', 'Releases')
      .field('labels', 'Type:Package,OpSys:All')
      .field('state', 'published')
      .field('visible', 'true')
      .field('requiresToken', 'false')
      .attach('file', content, 'upload.bin')
      .expect(201);
    expect(res.headers.location).toBe('/api/v1/downloads/api-tool-3-0');
    expect(res.body).toMatchObject({
      slug: 'api-tool-3-0',
      title: 'API tool 3.0',
      fileName: 'tool-3.0.bin',
      size: 3000,
      sha256: crypto.createHash('sha256').update(content).digest('hex'),
      downloadCount: 0,
      labels: ['OpSys:All', 'Type:Package'],
      state: 'published',
      deprecated: false,
      primaryCategory: { slug: 'releases', title: 'Releases' },
      url: 'https://downloads.example.com/downloads/api-tool-3-0',
      fileUrl: 'https://downloads.example.com/downloads/api-tool-3-0/file',
    });
    expect(typeof res.body.id).toBe('number');
    const row = await t.db.download.findUniqueOrThrow({ where: { id: res.body.id } });
    expect(fs.readFileSync(path.join(t.mediaRoot, 'downloads', row.fileKey!))).toEqual(content);
  });

  test('creates a remote download from a remote URL', async () => {
    const res = await api('post', '/downloads').field('title', 'Mirror').field('remoteUrl', 'https://mirror.example.org/a.iso').expect(201);
    expect(res.body).toMatchObject({ kind: 'remote', remoteUrl: 'https://mirror.example.org/a.iso', size: null, fileName: 'a.iso' });
  });

  test('refuses what it cannot take, with a code and a message', async () => {
    const noSource = await api('post', '/downloads').field('title', 'Nothing').expect(422);
    expect(noSource.body).toEqual({ error: { code: 'SOURCE_MISSING', message: 'Upload a file or give a remote URL.' } });
    const noTitle = await api('post', '/downloads').attach('file', Buffer.from('x'), 'x.bin').expect(422);
    expect(noTitle.body.error.code).toBe('VALIDATION_FAILED');
    const json = await api('post', '/downloads').send({ title: 'json' }).expect(415);
    expect(json.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const big = await api('post', '/downloads').field('title', 'big').attach('file', Buffer.alloc(1024 * 1024 + 1), 'big.bin').expect(413);
    expect(big.body.error.code).toBe('LIMIT_FILE_SIZE');
    const twoFiles = await api('post', '/downloads').field('title', 'two').attach('file', Buffer.from('a'), 'a').attach('other', Buffer.from('b'), 'b').expect(400);
    expect(twoFiles.body.error.code).toBe('LIMIT_UNEXPECTED_FILE');
  });

  test('needs a valid key with the right role', async () => {
    const none = await t.http.post('/api/v1/downloads').field('title', 'x').expect(401);
    expect(none.body.error.code).toBe('API_KEY_INVALID');
    await api('post', '/downloads', 'dlk_not-a-real-key').field('title', 'x').expect(401);
    const analyst = await api('post', '/downloads', analystKey).field('title', 'x').expect(403);
    expect(analyst.body.error.code).toBe('FORBIDDEN');
  });
});

describe('reading, changing and deleting through the API', () => {
  test('lists with search, state and label filters and pages', async () => {
    await buildDownload(t, { title: 'Listed alpha', labels: 'Type:Alpha' });
    await buildDownload(t, { title: 'Listed beta', state: 'unpublished' });
    const all = await api('get', '/downloads?q=Listed&sort=title&dir=asc').expect(200);
    expect(all.body.items.map((d: { title: string }) => d.title)).toEqual(['Listed alpha', 'Listed beta']);
    expect(all.body).toMatchObject({ page: 1, perPage: 50, total: 2 });
    const unpublished = await api('get', '/downloads?q=Listed&state=unpublished').expect(200);
    expect(unpublished.body.items.map((d: { title: string }) => d.title)).toEqual(['Listed beta']);
    const labelled = await api('get', '/downloads?label=Type:Alpha').expect(200);
    expect(labelled.body.total).toBe(1);
    const paged = await api('get', '/downloads?q=Listed&perPage=1&page=2&sort=title&dir=asc').expect(200);
    expect(paged.body.items.map((d: { title: string }) => d.title)).toEqual(['Listed beta']);
    await api('get', '/downloads?perPage=1000').expect(422);
  });

  test('gets one by slug; an unknown slug is a JSON 404', async () => {
    const d = await buildDownload(t, { title: 'Get me' });
    const res = await api('get', `/downloads/${d.slug}`).expect(200);
    expect(res.body).toMatchObject({ id: d.id, slug: d.slug, title: 'Get me' });
    const missing = await api('get', '/downloads/does-not-exist').expect(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
  });

  test('patches fields with JSON and leaves the others alone', async () => {
    const d = await buildDownload(t, { title: 'Patch me', labels: 'Type:Docs', description: 'keep' });
    const res = await api('patch', `/downloads/${d.slug}`).send({ title: 'Patched', labels: 'Type:Source', state: 'unpublished', visible: false }).expect(200);
    expect(res.body).toMatchObject({ title: 'Patched', description: 'keep', labels: ['Type:Source'], state: 'unpublished', visible: false, slug: d.slug });
    const bad = await api('patch', `/downloads/${d.slug}`).send({ state: 'gone' }).expect(422);
    expect(bad.body.error.message).toContain('State is published or unpublished.');
    await api('patch', `/downloads/${d.slug}`).set('Content-Type', 'application/json').send('{"title":').expect(400);
  });

  test('patches the file with multipart, keeping the address and the total count', async () => {
    const d = await buildDownload(t, { title: 'New file please', content: 'old' });
    await t.db.download.update({ where: { id: d.id }, data: { downloadCount: 3n } });
    const res = await api('patch', `/downloads/${d.slug}`).attach('file', Buffer.from('new content'), 'new.txt').expect(200);
    expect(res.body).toMatchObject({ slug: d.slug, size: 11, downloadCount: 3, fileDownloadCount: 0 });
  });

  test('deletes with 204 and removes the file', async () => {
    const d = await buildDownload(t, { title: 'Delete by API' });
    await api('delete', `/downloads/${d.slug}`).expect(204);
    expect(fs.existsSync(path.join(t.mediaRoot, 'downloads', d.fileKey!))).toBe(false);
    await api('delete', `/downloads/${d.slug}`).expect(404);
  });
});
