import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { signedInAgent } from '../helpers/auth.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { buildDownload, listFiles, stageFile } from '../helpers/factories.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ UPLOAD_MAX_BYTES: '64k' });
});
afterAll(() => t?.close());

const downloadsDir = () => path.join(t.mediaRoot, 'downloads');
const stagingDir = () => path.join(t.mediaRoot, '.staging');
const sha256 = (data: Buffer | string) => crypto.createHash('sha256').update(data).digest('hex');

describe('creating a download from the admin form', () => {
  test('a plain multipart form (no JavaScript) stores the file under an opaque key and redirects to the edit page', async () => {
    const { agent, csrf } = await signedInAgent(t, 'editor');
    const content = Buffer.from('release notes\n'.repeat(100));
    const res = await agent
      .post(`/admin/downloads?_csrf=${encodeURIComponent(csrf)}`)
      .field('title', 'Tool 1.2')
      .field('description', 'The *first* release.')
      .field('labels', 'Type:Archive, OpSys:Linux')
      .field('state', 'published')
      .field('visible', '1')
      .attach('file', content, 'tool-1.2.tar.gz')
      .expect(303);
    const location = res.headers.location as string;
    const id = Number(/\/admin\/downloads\/(\d+)$/.exec(location)![1]);
    const row = await t.db.download.findUniqueOrThrow({ where: { id }, include: { labels: { include: { label: true } } } });
    expect(row).toMatchObject({ title: 'Tool 1.2', slug: 'tool-1-2', fileName: 'tool-1.2.tar.gz', originalName: 'tool-1.2.tar.gz', kind: 'file', state: 'published' });
    expect(row.size).toBe(BigInt(content.length));
    expect(row.sha256).toBe(sha256(content));
    expect(row.fileKey).toMatch(/^[0-9a-f]{2}\/[0-9a-f]{32}$/);
    expect(fs.readFileSync(path.join(downloadsDir(), row.fileKey!))).toEqual(content);
    expect(row.labels.map((l) => `${l.label.class}:${l.label.name}`).sort()).toEqual(['OpSys:Linux', 'Type:Archive']);
    await stagingEmpty();
    const page = await agent.get(location).expect(200);
    expect(page.text).toContain('was created.');
  });

  test('the script path (Accept: JSON, token in a header) answers 201 with where to go next', async () => {
    const { agent, csrf } = await signedInAgent(t, 'editor');
    const res = await agent
      .post('/admin/downloads')
      .set('Accept', 'application/json')
      .set('X-CSRF-Token', csrf)
      .field('title', 'Scripted upload')
      .attach('file', Buffer.from('x'), 'x.bin')
      .expect(201);
    expect(res.body.redirect).toMatch(/^\/admin\/downloads\/\d+$/);
    expect(res.body.download).toMatchObject({ title: 'Scripted upload', size: 1, state: 'unpublished' });
  });

  test('the CSRF token is checked before a byte of the upload is written', async () => {
    const { agent } = await signedInAgent(t, 'editor');
    const before = listFiles(downloadsDir());
    const res = await agent.post('/admin/downloads').field('title', 'Forged').attach('file', Buffer.alloc(1000, 1), 'evil.bin');
    expect(res.status).toBe(403);
    await stagingEmpty();
    expect(listFiles(downloadsDir())).toEqual(before);
    expect(await t.db.download.count({ where: { title: 'Forged' } })).toBe(0);
  });

  test('an upload over the limit answers 413 and leaves no file behind', async () => {
    const { agent, csrf } = await signedInAgent(t, 'editor');
    const before = listFiles(downloadsDir());
    const res = await agent
      .post(`/admin/downloads?_csrf=${encodeURIComponent(csrf)}`)
      .set('Accept', 'application/json')
      .field('title', 'Too big')
      .attach('file', Buffer.alloc(65 * 1024, 7), 'big.bin');
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('LIMIT_FILE_SIZE');
    await stagingEmpty();
    expect(listFiles(downloadsDir())).toEqual(before);
  });

  test('an aborted upload leaves no file behind and the server keeps working', async () => {
    const { agent, csrf } = await signedInAgent(t, 'editor');
    const cookie = (await agent.get('/admin')).request.cookies ?? '';
    const base = await t.listen();
    const boundary = 'x-boundary';
    await new Promise<void>((resolve) => {
      const req = http.request(`${base}/admin/downloads?_csrf=${encodeURIComponent(csrf)}`, {
        method: 'POST',
        headers: { Cookie: cookie, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': '50000' },
      });
      req.on('error', () => resolve());
      req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="partial.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
      req.write(Buffer.alloc(20_000, 3));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 200);
    });
    await stagingEmpty();
    await t.http.get('/healthz').expect(200);
  });

  test('a malformed multipart body answers 400, not 500', async () => {
    const { agent, csrf } = await signedInAgent(t, 'editor');
    const res = await agent
      .post(`/admin/downloads?_csrf=${encodeURIComponent(csrf)}`)
      .set('Content-Type', 'multipart/form-data; boundary=zzz')
      .set('Accept', 'application/json')
      .send('--zzz\r\nContent-Disposition: form-data; name="title"\r\n\r\nhalf a form\r\n--zz');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('MALFORMED_MULTIPART');
    await stagingEmpty();
  });

  test('a form that is not multipart answers 415', async () => {
    const { agent, csrf } = await signedInAgent(t, 'editor');
    const res = await agent.post('/admin/downloads').type('form').send({ title: 'x', _csrf: csrf });
    expect(res.status).toBe(415);
  });

  test('invalid fields re-show the form with the message, and the staged file is removed', async () => {
    const { agent, csrf } = await signedInAgent(t, 'editor');
    const before = listFiles(downloadsDir());
    const res = await agent
      .post(`/admin/downloads?_csrf=${encodeURIComponent(csrf)}`)
      .field('title', '   ')
      .field('description', 'kept as typed')
      .attach('file', Buffer.from('abc'), 'a.txt');
    expect(res.status).toBe(422);
    expect(res.text).toContain('Enter a title.');
    expect(res.text).toContain('kept as typed');
    expect(listFiles(downloadsDir())).toEqual(before);
    await stagingEmpty();
  });

  test('two labels of a one-max class are refused', async () => {
    const { agent, csrf } = await signedInAgent(t, 'editor');
    const res = await agent
      .post(`/admin/downloads?_csrf=${encodeURIComponent(csrf)}`)
      .set('Accept', 'application/json')
      .field('title', 'Two types')
      .field('labels', 'Type:Archive, type:Source')
      .attach('file', Buffer.from('abc'), 'a.txt');
    expect(res.status).toBe(422);
    expect(res.body.error).toEqual({ code: 'LABEL_ONE_MAX', message: 'Only one label of the class Type is allowed.' });
  });

  test('a remote URL instead of a file must be http(s)', async () => {
    const { agent, csrf } = await signedInAgent(t, 'editor');
    for (const bad of ['javascript:alert(1)', '//evil.example/x', 'https://user:pw@example.com/x', 'ftp://example.com/x', 'https:/\\evil.example']) {
      const res = await agent.post(`/admin/downloads?_csrf=${encodeURIComponent(csrf)}`).set('Accept', 'application/json').field('title', 'Remote').field('remoteUrl', bad);
      expect(res.status, bad).toBe(422);
    }
    const ok = await agent
      .post(`/admin/downloads?_csrf=${encodeURIComponent(csrf)}`)
      .set('Accept', 'application/json')
      .field('title', 'Remote ok')
      .field('remoteUrl', 'https://cdn.example.com/files/tool-2.0.zip');
    expect(ok.status).toBe(201);
    expect(ok.body.download).toMatchObject({ kind: 'remote', remoteUrl: 'https://cdn.example.com/files/tool-2.0.zip', fileName: 'tool-2.0.zip' });
  });

  test('analysts cannot reach the download admin', async () => {
    const { agent } = await signedInAgent(t, 'analyst');
    await agent.get('/admin/downloads').expect(403);
  });
});

describe('changing a download', () => {
  test('replacing the file keeps the id, the address and the total count, and keeps the old file in history', async () => {
    const original = await buildDownload(t, { title: 'Replace me', content: 'version one' });
    await t.db.download.update({ where: { id: original.id }, data: { downloadCount: 7n, fileDownloadCount: 7n } });
    const { agent, csrf } = await signedInAgent(t, 'editor');
    await agent
      .post(`/admin/downloads/${original.id}?_csrf=${encodeURIComponent(csrf)}`)
      .field('title', 'Replace me')
      .field('state', 'published')
      .attach('file', Buffer.from('version two, longer'), 'v2.txt')
      .expect(303);
    const after = await t.db.download.findUniqueOrThrow({ where: { id: original.id } });
    expect(after.slug).toBe(original.slug);
    expect(after.downloadCount).toBe(7n);
    expect(after.fileDownloadCount).toBe(0n);
    expect(after.sha256).toBe(sha256('version two, longer'));
    expect(after.fileKey).not.toBe(original.fileKey);
    const versions = await t.db.fileVersion.findMany({ where: { downloadId: original.id } });
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({ fileKey: original.fileKey, downloadCount: 7n, sha256: original.sha256 });
    expect(fs.existsSync(path.join(downloadsDir(), original.fileKey!))).toBe(true);
  });

  test('fields left out of an API patch stay as they were; the form edits what it shows', async () => {
    const d = await buildDownload(t, { title: 'Keep fields', labels: 'Type:Docs', description: 'original' });
    const { agent, csrf } = await signedInAgent(t, 'editor');
    await agent
      .post(`/admin/downloads/${d.id}?_csrf=${encodeURIComponent(csrf)}`)
      .field('title', 'Renamed')
      .field('description', 'changed')
      .field('labels', 'Type:Docs')
      .field('state', 'published')
      .expect(303);
    const after = await t.deps.downloads.findById(d.id);
    expect(after).toMatchObject({ title: 'Renamed', description: 'changed', visible: false, requiresToken: false, fileKey: d.fileKey });
  });

  test('marking a download deprecated adds the deprecated label and names the successor', async () => {
    const old = await buildDownload(t, { title: 'Old tool' });
    const current = await buildDownload(t, { title: 'New tool' });
    const { agent, csrf } = await signedInAgent(t, 'editor');
    await agent
      .post(`/admin/downloads/${old.id}?_csrf=${encodeURIComponent(csrf)}`)
      .field('title', 'Old tool')
      .field('state', 'published')
      .field('visible', '1')
      .field('deprecated', '1')
      .field('successorSlug', current.slug)
      .expect(303);
    const after = (await t.deps.downloads.findById(old.id))!;
    expect(after.deprecated).toBe(true);
    expect(after.deprecatedAt).toBeInstanceOf(Date);
    expect(after.successor?.slug).toBe(current.slug);
    expect(after.labels.map((l) => `${l.label.class}:${l.label.name}`)).toEqual(['Other:Deprecated']);
  });

  test('a slug already taken is a 409 with the reason', async () => {
    const a = await buildDownload(t, { title: 'Slug A' });
    const b = await buildDownload(t, { title: 'Slug B' });
    const { agent, csrf } = await signedInAgent(t, 'editor');
    const res = await agent
      .post(`/admin/downloads/${b.id}?_csrf=${encodeURIComponent(csrf)}`)
      .set('Accept', 'application/json')
      .field('title', 'Slug B')
      .field('slug', a.slug);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toBe(`The slug "${a.slug}" is already used by another download.`);
  });
});

describe('deleting downloads', () => {
  test('deleting a download deletes its file and earlier versions', async () => {
    const d = await buildDownload(t, { title: 'Delete me' });
    await t.deps.downloads.update(d.id, {}, await stageFile(t, 'second', 'v2.txt'));
    const keys = [d.fileKey!, (await t.db.download.findUniqueOrThrow({ where: { id: d.id } })).fileKey!];
    const { agent, csrf } = await signedInAgent(t, 'editor');
    await agent.get(`/admin/downloads/${d.id}/delete`).expect(200);
    await agent.post(`/admin/downloads/${d.id}/delete`).type('form').send({ _csrf: csrf }).expect(303);
    expect(await t.db.download.findUnique({ where: { id: d.id } })).toBeNull();
    for (const key of keys) expect(fs.existsSync(path.join(downloadsDir(), key))).toBe(false);
  });

  test('a bulk delete deletes every selected file too (unlike the seed)', async () => {
    const a = await buildDownload(t, { title: 'Bulk A' });
    const b = await buildDownload(t, { title: 'Bulk B' });
    const { agent, csrf } = await signedInAgent(t, 'editor');
    await agent.post('/admin/downloads/bulk').type('form').send({ _csrf: csrf, action: 'delete', ids: [String(a.id), String(b.id)] }).expect(303);
    expect(await t.db.download.count({ where: { id: { in: [a.id, b.id] } } })).toBe(0);
    expect(fs.existsSync(path.join(downloadsDir(), a.fileKey!))).toBe(false);
    expect(fs.existsSync(path.join(downloadsDir(), b.fileKey!))).toBe(false);
  });

  test('bulk publish and unpublish', async () => {
    const a = await buildDownload(t, { title: 'Bulk publish', state: 'unpublished' });
    const { agent, csrf } = await signedInAgent(t, 'editor');
    await agent.post('/admin/downloads/bulk').type('form').send({ _csrf: csrf, action: 'publish', ids: String(a.id) }).expect(303);
    expect((await t.db.download.findUniqueOrThrow({ where: { id: a.id } })).state).toBe('published');
    await agent.post('/admin/downloads/bulk').type('form').send({ _csrf: csrf, action: 'unpublish', ids: String(a.id) }).expect(303);
    expect((await t.db.download.findUniqueOrThrow({ where: { id: a.id } })).state).toBe('unpublished');
  });
});

describe('the admin list', () => {
  test('searches, filters by state, category and label, sorts and pages', async () => {
    const lone = await startTestApp();
    try {
      const docs = await lone.deps.categories.create({ title: 'Docs' });
      for (let i = 1; i <= 30; i++) {
        await buildDownload(lone, {
          title: `Item ${String(i).padStart(2, '0')}`,
          state: i % 3 === 0 ? 'unpublished' : 'published',
          primaryCategoryId: i <= 5 ? docs.id : null,
          labels: i % 2 === 0 ? 'Type:Even' : '',
        });
      }
      const { agent } = await signedInAgent(lone, 'editor');
      const first = await agent.get('/admin/downloads?sort=title&dir=asc').expect(200);
      expect(first.text).toContain('Item 01');
      expect(first.text).not.toContain('Item 26');
      const second = await agent.get('/admin/downloads?sort=title&dir=asc&page=2').expect(200);
      expect(second.text).toContain('Item 26');
      const search = await agent.get('/admin/downloads?q=Item%2007').expect(200);
      expect(rows(search.text)).toEqual(['Item 07']);
      expect(rows((await agent.get('/admin/downloads?state=unpublished&sort=title&dir=asc')).text)).toHaveLength(10);
      expect(rows((await agent.get(`/admin/downloads?category=${docs.id}`)).text)).toHaveLength(5);
      expect(rows((await agent.get('/admin/downloads?label=Type%3AEven')).text)).toHaveLength(15);
      const byCount = await agent.get('/admin/downloads?sort=downloadCount&dir=desc&q=Item%2001').expect(200);
      expect(byCount.text).toContain('Item 01');
    } finally {
      await lone.close();
    }
  });
});

describe('categories', () => {
  test('are added, nested, renamed and deleted; a category cannot go inside its own subcategory', async () => {
    const { agent, csrf } = await signedInAgent(t, 'editor');
    await agent.post('/admin/categories').type('form').send({ _csrf: csrf, title: 'Software' }).expect(303);
    const software = await t.db.category.findFirstOrThrow({ where: { title: 'Software' } });
    await agent.post('/admin/categories').type('form').send({ _csrf: csrf, title: 'Linux', parentId: String(software.id) }).expect(303);
    const linux = await t.db.category.findFirstOrThrow({ where: { title: 'Linux' } });
    expect(linux.parentId).toBe(software.id);
    await agent.post(`/admin/categories/${software.id}`).type('form').send({ _csrf: csrf, parentId: String(linux.id) }).expect(303);
    const page = await agent.get('/admin/categories');
    expect(page.text).toContain('A category cannot be inside itself or one of its subcategories.');
    expect((await t.db.category.findUniqueOrThrow({ where: { id: software.id } })).parentId).toBeNull();
    await agent.post(`/admin/categories/${linux.id}/delete`).type('form').send({ _csrf: csrf }).expect(303);
    expect(await t.db.category.findUnique({ where: { id: linux.id } })).toBeNull();
  });
});

function rows(html: string): string[] {
  return [...html.matchAll(/<a href="\/admin\/downloads\/\d+"><bdi>([^<]+)<\/bdi><\/a>/g)].map((m) => m[1]!);
}


/** Staging is removed when the response has closed, a moment after the client has the answer. */
async function stagingEmpty() {
  await vi.waitFor(() => expect(listFiles(stagingDir())).toEqual([]), { timeout: 2000, interval: 20 });
}
