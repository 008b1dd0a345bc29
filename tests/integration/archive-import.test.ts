/**
 * Archive import through POST /api/v1/archives: a ZIP with manifest.xml creates, replaces and
 * deprecates downloads, all or nothing (issue 6; InDefero's rules without its defects).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { createUser } from '../helpers/auth.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { buildDownload, listFiles } from '../helpers/factories.ts';
import { buildZip, type ZipEntries } from '../helpers/zip.ts';

let t: TestApp;
let key: string;
beforeAll(async () => {
  t = await startTestApp({ LABEL_MAX_PER_DOWNLOAD: '3', ARCHIVE_ALLOWED_EXTENSIONS: '' });
  const editor = await createUser(t, 'editor');
  key = (await t.deps.users.createApiKey(editor.username)).key;
  await t.db.webhookEndpoint.create({ data: { url: 'http://127.0.0.1:9/hook', secret: 'hook-secret-0123456789', events: '*' } });
});
afterAll(() => t?.close());
beforeEach(async () => {
  // Each test starts from an empty catalogue and store (endpoints and users stay).
  fs.rmSync(path.join(t.mediaRoot, 'downloads'), { recursive: true, force: true });
  fs.mkdirSync(path.join(t.mediaRoot, 'downloads'));
  await t.db.webhookDelivery.deleteMany();
  await t.db.fileVersion.deleteMany();
  await t.db.download.deleteMany();
  await t.db.label.deleteMany();
  t.deps.resolver.clear();
});

interface FileSpec {
  name?: string;
  summary?: string;
  description?: string;
  replaces?: string;
  labels?: string[];
  raw?: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function manifest(files: FileSpec[]): string {
  const body = files
    .map((f) => {
      if (f.raw !== undefined) return `<file>${f.raw}</file>`;
      const parts = [
        f.name !== undefined ? `<name>${esc(f.name)}</name>` : '',
        f.summary !== undefined ? `<summary>${esc(f.summary)}</summary>` : '',
        f.description !== undefined ? `<description>${esc(f.description)}</description>` : '',
        f.replaces !== undefined ? `<replaces>${esc(f.replaces)}</replaces>` : '',
        f.labels ? `<labels>${f.labels.map((l) => `<label>${esc(l)}</label>`).join('')}</labels>` : '',
      ];
      return `<file>${parts.join('')}</file>`;
    })
    .join('\n  ');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<manifest>\n  ${body}\n</manifest>\n`;
}

function archive(files: FileSpec[], contents: ZipEntries): Buffer {
  return buildZip({ 'manifest.xml': manifest(files), ...contents });
}

const importZip = (zip: Buffer, query = '') =>
  t.http.post(`/api/v1/archives${query}`).set('Authorization', `Bearer ${key}`).attach('archive', zip, 'release.zip');

const sha256 = (data: Buffer | string) => crypto.createHash('sha256').update(data).digest('hex');

/** The bytes a visitor gets for a download, whatever its content type. */
async function fileOf(slug: string): Promise<string> {
  const res = await t.http
    .get(`/downloads/${slug}/file`)
    .buffer(true)
    .parse((response, done) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => done(null, Buffer.concat(chunks)));
    })
    .expect(200);
  return (res.body as Buffer).toString('utf8');
}

const stagingRoot = () => path.join(t.mediaRoot, '.staging');

/**
 * A request's upload folder is removed when its response has ended, so a moment after the
 * client has the answer: wait for that, then report what is left.
 */
async function stagedFiles(): Promise<string[]> {
  for (let i = 0; i < 100 && listFiles(stagingRoot()).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  return listFiles(stagingRoot());
}

/** Everything an import could write: rows, outbox, stored files, staging. */
async function snapshot() {
  return {
    downloads: await t.db.download.findMany({ orderBy: { id: 'asc' }, include: { labels: true } }),
    versions: await t.db.fileVersion.count(),
    labels: await t.db.label.count(),
    outbox: await t.db.webhookDelivery.count(),
    stored: listFiles(path.join(t.mediaRoot, 'downloads')),
    staged: await stagedFiles(),
  };
}

describe('creating downloads', () => {
  test('each listed file becomes a published download; unlisted files are reported and not extracted', async () => {
    const zip = archive(
      [
        { name: 'dist/tool-1.2.tar.gz', summary: 'Tool 1.2 (source)', description: 'Fixes **the** importer.', labels: ['Type:Source', 'OpSys:All'] },
        { name: 'tool-1.2-setup.exe', summary: 'Tool 1.2 for Windows', labels: ['Type:Installer'] },
      ],
      { 'dist/tool-1.2.tar.gz': 'tarball bytes', 'tool-1.2-setup.exe': 'MZ installer', 'notes/README.txt': 'not listed' },
    );
    const res = await importZip(zip).expect(200);
    expect(res.body).toMatchObject({
      dryRun: false,
      created: ['tool-1-2-source', 'tool-1-2-for-windows'],
      replaced: [],
      deprecated: [],
      ignored: ['notes/README.txt'],
      unlisted: ['notes/README.txt'],
      entries: [
        { entry: 1, name: 'dist/tool-1.2.tar.gz', action: 'create', slug: 'tool-1-2-source' },
        { entry: 2, name: 'tool-1.2-setup.exe', action: 'create', slug: 'tool-1-2-for-windows' },
      ],
    });

    const source = await t.http.get('/api/v1/downloads/tool-1-2-source').set('Authorization', `Bearer ${key}`).expect(200);
    expect(source.body).toMatchObject({
      title: 'Tool 1.2 (source)',
      fileName: 'tool-1.2.tar.gz',
      size: 13,
      sha256: sha256('tarball bytes'),
      labels: ['OpSys:All', 'Type:Source'],
      state: 'published',
      deprecated: false,
      downloadCount: 0,
    });
    expect(await fileOf('tool-1-2-source')).toBe('tarball bytes');
    const head = await t.http.head('/downloads/tool-1-2-source/file').expect(200);
    expect(head.headers['content-disposition']).toContain('tool-1.2.tar.gz');
    expect((await t.http.get('/downloads').expect(200)).text).toContain('Tool 1.2 for Windows');

    // Only the two listed files reached the store; staging is empty again.
    const { stored, staged } = await snapshot();
    expect(stored).toHaveLength(2);
    expect(staged).toEqual([]);
  });

  test('element order is free and values are exact trimmed strings, never numbers', async () => {
    const zip = archive(
      [{ raw: '<labels><label> Version:1.10 </label></labels><summary>  007  </summary><description>0</description><name> a.bin </name>' }],
      { 'a.bin': 'A' },
    );
    await importZip(zip).expect(200);
    const row = await t.db.download.findFirstOrThrow({ include: { labels: { include: { label: true } } } });
    expect(row).toMatchObject({ title: '007', description: '0', fileName: 'a.bin' });
    expect(row.labels.map((l) => `${l.label.class}:${l.label.name}`)).toEqual(['Version:1.10']);
  });

  test('imported rows are stored as Prisma stores a download made in the admin: defaults, counters and dates alike', async () => {
    await buildDownload(t, { title: 'Made in the admin' });
    const before = new Date();
    const res = await importZip(archive([{ name: 'a.bin', summary: 'Imported', labels: ['Type:Docs'] }], { 'a.bin': 'A' })).expect(200);
    const after = new Date();
    const imported = await t.db.download.findUniqueOrThrow({ where: { slug: res.body.created[0] }, include: { labels: { include: { label: true } } } });
    expect(imported).toMatchObject({ kind: 'file', visible: true, requiresToken: false, deprecated: false, downloadCount: 0n, fileDownloadCount: 0n, successorId: null });
    expect(imported.labels.map((l) => `${l.label.class}:${l.label.name}`)).toEqual(['Type:Docs']);
    for (const date of [imported.createdAt, imported.updatedAt, imported.fileUpdatedAt!]) {
      expect(date.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);
      expect(date.getTime()).toBeLessThanOrEqual(after.getTime());
    }
    // The stored text of the dates has the same shape for both rows (on SQLite a different
    // format would sort and compare wrongly against the rows Prisma writes). The fraction's
    // digits are left out: PostgreSQL prints .120 as .12 and .000 not at all.
    const stored = await t.db.$queryRawUnsafe<{ c: string; u: string; f: string }[]>(
      'SELECT CAST("createdAt" AS TEXT) AS c, CAST("updatedAt" AS TEXT) AS u, CAST("fileUpdatedAt" AS TEXT) AS f FROM "Download" ORDER BY "id"',
    );
    const shape = (text: string) => text.replace(/\.\d+/, '').replace(/\d/g, '9');
    expect(stored).toHaveLength(2);
    expect([shape(stored[1]!.c), shape(stored[1]!.u), shape(stored[1]!.f)]).toEqual([shape(stored[0]!.c), shape(stored[0]!.u), shape(stored[0]!.f)]);
  });

  test('<tags><tag> is accepted as well as <labels><label> (the seed DTD names tags)', async () => {
    const zip = archive([{ raw: '<name>a.bin</name><summary>A</summary><tags><tag>Type:Docs</tag></tags>' }], { 'a.bin': 'A' });
    const res = await importZip(zip).expect(200);
    const json = await t.http.get(`/api/v1/downloads/${res.body.created[0]}`).set('Authorization', `Bearer ${key}`).expect(200);
    expect(json.body.labels).toEqual(['Type:Docs']);
  });

  test('an import can create unpublished downloads in an existing category', async () => {
    await t.deps.categories.create({ title: 'Releases' });
    const zip = archive([{ name: 'a.bin', summary: 'A' }], { 'a.bin': 'A' });
    const res = await t.http
      .post('/api/v1/archives')
      .set('Authorization', `Bearer ${key}`)
      .field('state', 'unpublished')
      .field('category', 'releases')
      .attach('archive', zip, 'a.zip')
      .expect(200);
    const row = await t.db.download.findUniqueOrThrow({ where: { slug: res.body.created[0] }, include: { primaryCategory: true } });
    expect(row.state).toBe('unpublished');
    expect(row.primaryCategory?.title).toBe('Releases');
    await t.http.get(`/downloads/${row.slug}`).expect(404);
  });

  test('an unknown category is refused before anything is read or written', async () => {
    const before = await snapshot();
    const res = await t.http
      .post('/api/v1/archives')
      .set('Authorization', `Bearer ${key}`)
      .field('category', 'no-such-category')
      .attach('archive', archive([{ name: 'a.bin', summary: 'A' }], { 'a.bin': 'A' }), 'a.zip')
      .expect(422);
    expect(res.body.error.code).toBe('CATEGORY_UNKNOWN');
    expect(await snapshot()).toEqual(before);
  });

  test('two titles that make the same slug get distinct slugs', async () => {
    await buildDownload(t, { title: 'Tool' });
    const zip = archive(
      [
        { name: 'a.bin', summary: 'Tool' },
        { name: 'b.bin', summary: 'Tool' },
      ],
      { 'a.bin': 'A', 'b.bin': 'B' },
    );
    const res = await importZip(zip).expect(200);
    expect(res.body.created).toEqual(['tool-2', 'tool-3']);
  });

  test('a numbered slug already stored is skipped even when the plain one is free', async () => {
    await buildDownload(t, { title: 'Kit 2' });
    const zip = archive(
      [
        { name: 'a.bin', summary: 'Kit' },
        { name: 'b.bin', summary: 'Kit' },
        { name: 'c.bin', summary: 'Kit 2' },
      ],
      { 'a.bin': 'A', 'b.bin': 'B', 'c.bin': 'C' },
    );
    const res = await importZip(zip).expect(200);
    expect(res.body.created).toEqual(['kit', 'kit-3', 'kit-2-2']);
  });

  test('a manifest with no <file> is refused: there is nothing to import', async () => {
    const res = await importZip(buildZip({ 'manifest.xml': '<manifest></manifest>' })).expect(422);
    expect(res.body.error.code).toBe('MANIFEST_EMPTY');
  });
});

describe('replacing the file of a download (replaces = its own name)', () => {
  test('keeps id, slug and address; the old file and its count go to history; the new count starts at 0', async () => {
    const first = await importZip(archive([{ name: 'tool.zip', summary: 'Tool', labels: ['Type:Archive'] }], { 'tool.zip': 'version 1' })).expect(200);
    const slug = first.body.created[0];
    const original = await t.db.download.findUniqueOrThrow({ where: { slug } });
    await t.http.get(`/downloads/${slug}/file`).expect(200);
    await t.http.get(`/downloads/${slug}/file`).expect(200);
    await t.deps.recorder.drain();

    const second = await importZip(
      archive([{ name: 'tool.zip', summary: 'Tool, second build', replaces: 'tool.zip', labels: ['Type:Archive', 'OpSys:Linux'] }], { 'tool.zip': 'version 2!' }),
    ).expect(200);
    expect(second.body).toMatchObject({ created: [], replaced: [slug], deprecated: [], entries: [{ action: 'replace', slug }] });

    const now = await t.db.download.findUniqueOrThrow({ where: { slug }, include: { versions: true } });
    expect(now.id).toBe(original.id);
    expect(now.title).toBe('Tool, second build');
    expect(now.sha256).toBe(sha256('version 2!'));
    expect(now.fileDownloadCount).toBe(0n);
    expect(now.downloadCount).toBe(2n);
    expect(now.versions).toMatchObject([{ fileKey: original.fileKey, sha256: sha256('version 1'), downloadCount: 2n }]);
    expect(fs.readFileSync(path.join(t.mediaRoot, 'downloads', original.fileKey!), 'utf8')).toBe('version 1');
    expect(await fileOf(slug)).toBe('version 2!');
    const json = await t.http.get(`/api/v1/downloads/${slug}`).set('Authorization', `Bearer ${key}`).expect(200);
    expect(json.body.labels).toEqual(['OpSys:Linux', 'Type:Archive']);
  });

  test('a name that already exists without <replaces> of itself is refused, naming the entry', async () => {
    await buildDownload(t, { title: 'Existing', originalName: 'tool.zip' });
    const before = await snapshot();
    const res = await importZip(
      archive(
        [
          { name: 'fresh.bin', summary: 'Fresh' },
          { name: 'tool.zip', summary: 'Tool' },
        ],
        { 'fresh.bin': 'F', 'tool.zip': 'T' },
      ),
    ).expect(422);
    expect(res.body.error).toMatchObject({ code: 'NAME_EXISTS', entry: 2, name: 'tool.zip' });
    expect(res.body.error.message).toMatch(/^Entry 2 \(tool\.zip\): a download named "tool\.zip" already exists/);
    expect(await snapshot()).toEqual(before);
  });

  test('<replaces> of its own name for a name that does not exist yet creates it and reports the replaces as ignored', async () => {
    const res = await importZip(archive([{ name: 'new.bin', summary: 'New', replaces: 'new.bin' }], { 'new.bin': 'N' })).expect(200);
    expect(res.body).toMatchObject({ created: ['new'], replaced: [], ignored: ['new.bin'], unmatchedReplaces: [{ entry: 1, name: 'new.bin', replaces: 'new.bin' }] });
  });
});

describe('deprecating another download (replaces = another name)', () => {
  test('the old one gets the flag, the deprecated label and the new one as successor, leaves the listing and keeps working', async () => {
    const old = await buildDownload(t, { title: 'Tool 1.1', originalName: 'tool-1.1.zip', labels: 'Type:Archive,OpSys:All', content: 'old bytes' });
    const res = await importZip(
      archive([{ name: 'tool-1.2.zip', summary: 'Tool 1.2', replaces: 'tool-1.1.zip', labels: ['Type:Archive'] }], { 'tool-1.2.zip': 'new bytes' }),
    ).expect(200);
    expect(res.body).toMatchObject({ created: ['tool-1-2'], deprecated: [old.slug], entries: [{ action: 'create', slug: 'tool-1-2', deprecates: old.slug }] });

    const json = await t.http.get(`/api/v1/downloads/${old.slug}`).set('Authorization', `Bearer ${key}`).expect(200);
    expect(json.body.deprecated).toBe(true);
    // It keeps its own labels and gains the deprecated one (the seed overwrote the new download's instead).
    expect(json.body.labels).toEqual(['OpSys:All', 'Other:Deprecated', 'Type:Archive']);
    const fresh = await t.http.get('/api/v1/downloads/tool-1-2').set('Authorization', `Bearer ${key}`).expect(200);
    expect(fresh.body.labels).toEqual(['Type:Archive']);
    const row = await t.db.download.findUniqueOrThrow({ where: { id: old.id }, include: { successor: true } });
    expect(row.successor?.slug).toBe('tool-1-2');

    const listing = await t.http.get('/downloads').expect(200);
    expect(listing.text).toContain('Tool 1.2');
    expect(listing.text).not.toContain('Tool 1.1');
    const page = await t.http.get(`/downloads/${old.slug}`).expect(200);
    expect(page.text).toContain('/downloads/tool-1-2');
    expect(await fileOf(old.slug)).toBe('old bytes');
    await t.http.get(`/downloads/${old.slug}/latest`).expect(302).expect('Location', /\/downloads\/tool-1-2\/file$/);
  });

  test('a <replaces> that names nothing is ignored and reported', async () => {
    const res = await importZip(archive([{ name: 'a.bin', summary: 'A', replaces: 'gone-1.0.zip' }], { 'a.bin': 'A' })).expect(200);
    expect(res.body).toMatchObject({ created: ['a'], deprecated: [], ignored: ['gone-1.0.zip'], unmatchedReplaces: [{ entry: 1, name: 'a.bin', replaces: 'gone-1.0.zip' }] });
  });

  test('the configured deprecated label is the one added', async () => {
    const custom = await startTestApp({ DEPRECATED_LABEL: 'Status:Superseded' });
    try {
      const editor = await createUser(custom, 'editor');
      const customKey = (await custom.deps.users.createApiKey(editor.username)).key;
      const old = await buildDownload(custom, { title: 'Old', originalName: 'old.zip' });
      await custom.http
        .post('/api/v1/archives')
        .set('Authorization', `Bearer ${customKey}`)
        .attach('archive', archive([{ name: 'new.zip', summary: 'New', replaces: 'old.zip' }], { 'new.zip': 'N' }), 'a.zip')
        .expect(200);
      const json = await custom.http.get(`/api/v1/downloads/${old.slug}`).set('Authorization', `Bearer ${customKey}`).expect(200);
      expect(json.body.labels).toEqual(['Status:Superseded']);
    } finally {
      await custom.close();
    }
  });

  test('one archive cannot replace the same download twice', async () => {
    await buildDownload(t, { title: 'Old', originalName: 'old.zip' });
    const before = await snapshot();
    const res = await importZip(
      archive(
        [
          { name: 'a.zip', summary: 'A', replaces: 'old.zip' },
          { name: 'b.zip', summary: 'B', replaces: 'old.zip' },
        ],
        { 'a.zip': 'A', 'b.zip': 'B' },
      ),
    ).expect(422);
    expect(res.body.error).toMatchObject({ code: 'REPLACED_TWICE', entry: 2, name: 'b.zip' });
    expect(await snapshot()).toEqual(before);
  });
});

describe('every problem of the manifest is reported at once, and nothing is written', () => {
  test('each problem names its entry by number and name', async () => {
    await buildDownload(t, { title: 'Taken', originalName: 'taken.bin' });
    const before = await snapshot();
    const zip = archive(
      [
        { name: 'ok.bin', summary: 'Fine' },
        { summary: 'No name' },
        { name: 'no-summary.bin' },
        { name: 'manifest.xml', summary: 'Itself' },
        { name: 'missing.bin', summary: 'Not in the archive' },
        { name: 'ok.bin', summary: 'Twice' },
        { name: 'labels.bin', summary: 'Labels', labels: ['A:1', 'B:2', 'C:3', 'D:4'] },
        { name: 'types.bin', summary: 'Types', labels: ['Type:Installer', 'Type:Source'] },
        { name: 'taken.bin', summary: 'Exists' },
      ],
      { 'ok.bin': 'o', 'no-summary.bin': 'n', 'labels.bin': 'l', 'types.bin': 't', 'taken.bin': 'x' },
    );
    const res = await importZip(zip).expect(422);
    const problems = res.body.error.problems as { entry: number; name?: string; code: string; message: string }[];
    expect(problems.map((p) => [p.entry, p.code])).toEqual([
      [2, 'NAME_MISSING'],
      [3, 'SUMMARY_MISSING'],
      [4, 'SELF_REFERENCE'],
      [5, 'NOT_IN_ARCHIVE'],
      [6, 'DUPLICATE_NAME'],
      [7, 'TOO_MANY_LABELS'],
      [8, 'ONE_MAX_CLASS'],
      [9, 'NAME_EXISTS'],
    ]);
    expect(res.body.error).toMatchObject({ code: 'NAME_MISSING', entry: 2 });
    expect(problems.find((p) => p.entry === 5)).toMatchObject({ name: 'missing.bin', message: expect.stringContaining('Entry 5 (missing.bin)') });
    expect(res.body.error.message).toMatch(/^The manifest has 8 problems/);
    expect(await snapshot()).toEqual(before);
  });

  test('two paths that would be served under the same file name are refused', async () => {
    const res = await importZip(
      archive(
        [
          { name: 'linux/tool.zip', summary: 'Linux' },
          { name: 'mac/tool.zip', summary: 'Mac' },
        ],
        { 'linux/tool.zip': 'L', 'mac/tool.zip': 'M' },
      ),
    ).expect(422);
    expect(res.body.error).toMatchObject({ code: 'DUPLICATE_FILE_NAME', entry: 2, name: 'mac/tool.zip' });
  });

  test('an extension allow-list refuses other files', async () => {
    const strict = await startTestApp({ ARCHIVE_ALLOWED_EXTENSIONS: 'zip, .PDF' });
    try {
      const editor = await createUser(strict, 'editor');
      const strictKey = (await strict.deps.users.createApiKey(editor.username)).key;
      const res = await strict.http
        .post('/api/v1/archives')
        .set('Authorization', `Bearer ${strictKey}`)
        .attach(
          'archive',
          archive(
            [
              { name: 'guide.pdf', summary: 'Guide' },
              { name: 'setup.exe', summary: 'Setup' },
            ],
            { 'guide.pdf': '%PDF', 'setup.exe': 'MZ' },
          ),
          'a.zip',
        )
        .expect(422);
      expect(res.body.error).toMatchObject({ code: 'EXTENSION_NOT_ALLOWED', entry: 2, name: 'setup.exe' });
      expect(await strict.db.download.count()).toBe(0);
    } finally {
      await strict.close();
    }
  });

  test('a file whose data turns out corrupt while unpacking leaves nothing behind, not even the files unpacked before it', async () => {
    const before = await snapshot();
    const zip = buildZip({
      'manifest.xml': manifest([
        { name: 'good.bin', summary: 'Good' },
        { name: 'bad.bin', summary: 'Bad' },
      ]),
      'good.bin': crypto.randomBytes(50_000),
      // The directory promises this CRC; the data does not match it, which only unpacking finds out.
      'bad.bin': { data: 'corrupted on the way', crc: 0x1234 },
    });
    const res = await importZip(zip).expect(422);
    expect(res.body.error.code).toMatch(/^ZIP_/);
    expect(await snapshot()).toEqual(before);
  });
});

describe('dry run', () => {
  test('shows the plan (create, replace, deprecate, ignore) and writes nothing', async () => {
    await buildDownload(t, { title: 'Same', originalName: 'same.bin' });
    const old = await buildDownload(t, { title: 'Old', originalName: 'old.bin' });
    const before = await snapshot();
    const zip = archive(
      [
        { name: 'same.bin', summary: 'Same again', replaces: 'same.bin' },
        { name: 'new.bin', summary: 'New', replaces: 'old.bin' },
        { name: 'other.bin', summary: 'Other', replaces: 'nothing.bin' },
      ],
      { 'same.bin': 'S', 'new.bin': 'N', 'other.bin': 'O', 'extra.txt': 'E' },
    );
    const res = await importZip(zip, '?dryRun=1').expect(200);
    expect(res.body).toEqual({
      dryRun: true,
      created: ['new', 'other'],
      replaced: ['same'],
      deprecated: [old.slug],
      ignored: ['extra.txt', 'nothing.bin'],
      unlisted: ['extra.txt'],
      unmatchedReplaces: [{ entry: 3, name: 'other.bin', replaces: 'nothing.bin' }],
      entries: [
        { entry: 1, name: 'same.bin', action: 'replace', slug: 'same' },
        { entry: 2, name: 'new.bin', action: 'create', slug: 'new', deprecates: old.slug },
        { entry: 3, name: 'other.bin', action: 'create', slug: 'other' },
      ],
    });
    expect(await snapshot()).toEqual(before);

    // The same archive for real does what the plan said.
    const real = await importZip(zip).expect(200);
    expect({ ...real.body, dryRun: true }).toEqual(res.body);
  });

  test('a dry run reports the same problems as a real import', async () => {
    const res = await importZip(archive([{ name: 'a.bin' }], { 'a.bin': 'A' }), '?dryRun=true').expect(422);
    expect(res.body.error).toMatchObject({ code: 'SUMMARY_MISSING', entry: 1, name: 'a.bin' });
  });
});

describe('events', () => {
  test('download.created, download.updated, download.deprecated and archive.imported reach the outbox with the rows', async () => {
    await buildDownload(t, { title: 'Same', originalName: 'same.bin' });
    const old = await buildDownload(t, { title: 'Old', originalName: 'old.bin' });
    await t.db.webhookDelivery.deleteMany();
    const seen: string[] = [];
    const off = ['download.created', 'download.updated', 'download.deprecated', 'archive.imported'].map((type) =>
      t.deps.bus.on(type as 'download.created', (data) => {
        seen.push(`${type}:${(data as { slug?: string }).slug ?? 'archive'}`);
      }),
    );
    await importZip(
      archive(
        [
          { name: 'same.bin', summary: 'Same', replaces: 'same.bin' },
          { name: 'new.bin', summary: 'New', replaces: 'old.bin' },
        ],
        { 'same.bin': 'S2', 'new.bin': 'N' },
      ),
    ).expect(200);
    for (const unsubscribe of off) if (typeof unsubscribe === 'function') unsubscribe();
    const outbox = await t.db.webhookDelivery.findMany({ orderBy: { id: 'asc' } });
    expect(outbox.map((d) => d.eventType)).toEqual(['download.created', 'download.updated', 'download.updated', 'download.deprecated', 'archive.imported']);
    const imported = JSON.parse(outbox.at(-1)!.payload);
    expect(imported).toMatchObject({ type: 'archive.imported', data: { created: ['new'], replaced: ['same'], deprecated: [old.slug] } });
    expect(JSON.parse(outbox[3]!.payload).data).toMatchObject({ slug: old.slug, deprecated: true });
    expect(seen).toEqual(expect.arrayContaining(['download.created:new', 'download.updated:same', `download.deprecated:${old.slug}`, 'archive.imported:archive']));
  });
});

describe('the request itself', () => {
  test('needs an API key that may manage downloads', async () => {
    const zip = archive([{ name: 'a.bin', summary: 'A' }], { 'a.bin': 'A' });
    await t.http.post('/api/v1/archives').attach('archive', zip, 'a.zip').expect(401);
    const analyst = await createUser(t, 'analyst');
    const analystKey = (await t.deps.users.createApiKey(analyst.username)).key;
    await t.http.post('/api/v1/archives').set('Authorization', `Bearer ${analystKey}`).attach('archive', zip, 'a.zip').expect(403);
    expect(await t.db.download.count()).toBe(0);
  });

  test('without an archive it is 422; not multipart it is 415', async () => {
    const missing = await t.http.post('/api/v1/archives').set('Authorization', `Bearer ${key}`).field('state', 'published').expect(422);
    expect(missing.body.error.code).toBe('ARCHIVE_MISSING');
    await t.http.post('/api/v1/archives').set('Authorization', `Bearer ${key}`).send({ archive: 'x' }).expect(415);
  });

  test('a file in another field is refused', async () => {
    const res = await t.http.post('/api/v1/archives').set('Authorization', `Bearer ${key}`).attach('file', Buffer.from('x'), 'a.zip');
    expect(res.status).toBe(400);
    expect(await t.db.download.count()).toBe(0);
  });
});
