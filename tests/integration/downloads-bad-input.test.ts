/**
 * Hostile text and names are stored as text and shown escaped; nothing is written outside
 * MEDIA_ROOT; nothing answers 500. (security.md §2.3, §2.6)
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createUser, signedInAgent } from '../helpers/auth.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { listFiles } from '../helpers/factories.ts';

let t: TestApp;
let key: string;
let outsideBefore: string[];
beforeAll(async () => {
  t = await startTestApp();
  key = (await t.deps.users.createApiKey((await createUser(t, 'editor')).username)).key;
  outsideBefore = fs.readdirSync(path.dirname(t.mediaRoot));
});
afterAll(() => t?.close());

const create = (fields: Record<string, string>, file?: [Buffer, string]) => {
  let req = t.http.post('/api/v1/downloads').set('Authorization', `Bearer ${key}`);
  for (const [k, v] of Object.entries({ state: 'published', ...fields })) req = req.field(k, v);
  return file ? req.attach('file', file[0], file[1]) : req.field('remoteUrl', 'https://example.com/x.bin');
};

describe('hostile titles and descriptions', () => {
  test.each([
    ['HTML', '<script>alert(1)</script><img src=x onerror=alert(2)>', '&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;'],
    ['quotes', `"double" and 'single' \`back\``, '&#34;double&#34; and &#39;single&#39; `back`'],
    ['a right-to-left mark', 'abc\u200Fdef \u202Eexe.txt', 'abc\u200Fdef \u202Eexe.txt'],
  ])('a title with %s is stored as typed and shown escaped everywhere', async (_what, title, shown) => {
    const res = await create({ title }).expect(201);
    expect(res.body.title).toBe(title);
    const detail = await t.http.get(`/downloads/${res.body.slug}`).expect(200);
    expect(detail.text).toContain(`<h1><bdi>${shown}</bdi></h1>`);
    expect(detail.text).not.toContain(title.includes('<') ? title : '\u0000never');
    const listing = await t.http.get('/downloads').expect(200);
    expect(listing.text).toContain(`<bdi>${shown}</bdi>`);
    const { agent } = await signedInAgent(t, 'editor');
    const admin = await agent.get('/admin/downloads').expect(200);
    expect(admin.text).toContain(`<bdi>${shown}</bdi>`);
  });

  test('newlines in a title become spaces and NUL characters are dropped (PostgreSQL cannot store NUL)', async () => {
    const res = await create({ title: 'line one\nline two\r\nthree\u0000four' }).expect(201);
    expect(res.body.title).toBe('line one line two threefour');
  });

  test('a 10,000-character title is refused with the limit; a 10,000-character description is kept', async () => {
    const long = 'x'.repeat(10_000);
    const refused = await create({ title: long }).expect(422);
    expect(refused.body.error.message).toBe('title: Titles are at most 200 characters.');
    const kept = await create({ title: 'Long description', description: `<b>${long}</b>` }).expect(201);
    expect(kept.body.description).toHaveLength(10_007);
    const page = await t.http.get(`/downloads/${kept.body.slug}`).expect(200);
    expect(page.text).toContain(`&lt;b&gt;${'x'.repeat(100)}`);
  });

  test('Markdown cannot carry scripts, handlers or javascript: links', async () => {
    const res = await create({
      title: 'Markdown attack',
      description: '<script>alert(1)</script>\n\n[click](javascript:alert(1)) [ok](https://example.com) <a href="x" onclick="y">a</a>',
    }).expect(201);
    const page = await t.http.get(`/downloads/${res.body.slug}`).expect(200);
    const description = /<div class="description">([\s\S]*?)<\/div>/.exec(page.text)![1]!;
    expect(description).not.toMatch(/<script|<[a-z][^>]*\son\w+=|href="javascript:/i);
    expect(description).toContain('&lt;script&gt;');
    expect(description).toContain('<a href="https://example.com" rel="nofollow noopener noreferrer">ok</a>');
  });

  test('labels with HTML are escaped; labels with control characters are refused', async () => {
    const res = await create({ title: 'Label attack', labels: 'Type:<b>bold</b>' }).expect(201);
    expect(res.body.labels).toEqual(['Type:<b>bold</b>']);
    const page = await t.http.get(`/downloads/${res.body.slug}`).expect(200);
    expect(page.text).toContain('Type:&lt;b&gt;bold&lt;/b&gt;');
    const refused = await create({ title: 'Label NUL', labels: 'Type:a\u0000b' }).expect(422);
    expect(refused.body.error.code).toBe('LABEL_INVALID');
  });

  test('more labels than LABEL_MAX_PER_DOWNLOAD (6) are refused; six are fine', async () => {
    const six = 'A:1,B:2,C:3,D:4,E:5,F:6';
    expect((await create({ title: 'Six labels', labels: six }).expect(201)).body.labels).toHaveLength(6);
    const refused = await create({ title: 'Seven labels', labels: `${six},G:7` }).expect(422);
    expect(refused.body.error.code).toBe('LABEL_TOO_MANY');
  });

  test('a slug with path pieces is refused; capitals are lowered', async () => {
    for (const slug of ['../../etc', 'a/b', 'with space', 'trailing-', 'dots.in.it']) {
      const res = await create({ title: 'Slug attack', slug });
      expect(res.status, slug).toBe(422);
    }
    expect((await create({ title: 'Capitals', slug: 'UPPER' }).expect(201)).body.slug).toBe('upper');
  });
});

describe('hostile file names', () => {
  test.each([
    ['../../etc/passwd', 'passwd'],
    ['C:\\Windows\\evil.exe', 'evil.exe'],
    ['<script>x</script>.txt', 'script.txt'],
    ['a"b.txt', 'ab.txt'],
    ['report\u202Etxt.exe', 'reporttxt.exe'],
    ['snow ☃ café.txt', 'snow ☃ café.txt'],
  ])('an upload named %j is stored under an opaque key and served as %j', async (name, served) => {
    const res = await create({ title: `File ${name}` }, [Buffer.from('data'), name]).expect(201);
    const row = await t.db.download.findUniqueOrThrow({ where: { id: res.body.id } });
    expect(row.fileKey).toMatch(/^[0-9a-f]{2}\/[0-9a-f]{32}$/);
    expect(row.fileName).toBe(served);
    expect(row.fileName).not.toMatch(/[/\\"\u202e]/);
    expect(fs.readdirSync(path.dirname(t.mediaRoot))).toEqual(outsideBefore);
    for (const f of listFiles(t.mediaRoot)) expect(f).toMatch(/^downloads\/[0-9a-f]{2}\/[0-9a-f]{32}$/);
  });

  test('a served name with path pieces given explicitly is reduced to its last piece', async () => {
    const res = await create({ title: 'Explicit name', fileName: '../../../tmp/owned.sh' }, [Buffer.from('x'), 'x.bin']).expect(201);
    expect(res.body.fileName).toBe('owned.sh');
  });
});

describe('hostile requests never answer 500', () => {
  test.each([
    ['a JSON body with prototype keys', { __proto__: { isAdmin: true }, constructor: { prototype: { x: 1 } } }],
    ['EJS option keys in the body', { settings: { 'view options': { delimiter: '$' } }, title: 'x' }],
  ])('%s', async (_what, body) => {
    const res = await t.http.patch('/api/v1/downloads/none').set('Authorization', `Bearer ${key}`).send(body);
    expect(res.status).toBe(404);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  test('query strings with arrays or odd values are handled', async () => {
    for (const url of ['/downloads?page[]=1', '/downloads?q[$ne]=x', '/downloads?label=a&label=b', '/downloads?page=99999999999']) {
      const res = await t.http.get(url);
      expect(res.status, url).toBeLessThan(500);
    }
  });
});
