/**
 * Hostile and broken archives through the real endpoint: each answers 422 with a code and
 * leaves no row, no stored file and no staged file behind. Archives made by `zip` and `7z`
 * import; so does the CLI. (The reader's own unit tests go byte by byte: tests/unit/archives.)
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createUser } from '../helpers/auth.ts';
import { startTestApp, testEnv, type TestApp } from '../helpers/context.ts';
import { listFiles } from '../helpers/factories.ts';
import { runCli } from '../helpers/processes.ts';
import { buildZip, makeTempDir, removeTempDir, type ZipEntries } from '../helpers/zip.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/archives');
const MANIFEST = '<manifest><file><name>a.txt</name><summary>A</summary></file></manifest>';

let t: TestApp;
let key: string;
beforeAll(async () => {
  t = await startTestApp({
    ARCHIVE_MAX_ENTRIES: '20',
    ARCHIVE_MAX_ENTRY_BYTES: '4M',
    ARCHIVE_MAX_TOTAL_BYTES: '6M',
    ARCHIVE_MANIFEST_MAX_BYTES: '4k',
  });
  const editor = await createUser(t, 'editor');
  key = (await t.deps.users.createApiKey(editor.username)).key;
});
afterAll(() => t?.close());

const post = (zip: Buffer, name = 'upload.zip') => t.http.post('/api/v1/archives').set('Authorization', `Bearer ${key}`).attach('archive', zip, name);

async function nothingLeft() {
  const staging = path.join(t.mediaRoot, '.staging');
  for (let i = 0; i < 100 && listFiles(staging).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  expect(listFiles(staging)).toEqual([]);
  expect(listFiles(path.join(t.mediaRoot, 'downloads'))).toEqual([]);
  expect(await t.db.download.count()).toBe(0);
  expect(await t.db.label.count()).toBe(0);
}

const withManifest = (entries: ZipEntries, manifest: string | Buffer = MANIFEST) => buildZip({ 'manifest.xml': manifest, ...entries });
const big = (bytes: number) => Buffer.alloc(bytes, 0x61);

const cases: [string, string, () => Buffer][] = [
  ['not a ZIP (a gzip’d tar named .zip)', 'ZIP_CORRUPT', () => fs.readFileSync(path.join(FIXTURES, 'tar-gz.zip'))],
  ['not a ZIP (a PNG named .zip)', 'ZIP_CORRUPT', () => fs.readFileSync(path.join(FIXTURES, 'png-renamed.zip'))],
  ['an empty file', 'ZIP_CORRUPT', () => Buffer.alloc(0)],
  ['truncated (made by zip, cut short)', 'ZIP_CORRUPT', () => fs.readFileSync(path.join(FIXTURES, 'truncated.zip'))],
  ['encrypted (zip -P)', 'ZIP_ENCRYPTED', () => fs.readFileSync(path.join(FIXTURES, 'encrypted.zip'))],
  ['bzip2 compression (zip -Z bzip2)', 'ZIP_UNSUPPORTED_COMPRESSION', () => fs.readFileSync(path.join(FIXTURES, 'bzip2.zip'))],
  ['LZMA compression (7z -mm=LZMA)', 'ZIP_UNSUPPORTED_COMPRESSION', () => fs.readFileSync(path.join(FIXTURES, 'lzma.zip'))],
  ['a symbolic link (zip -y)', 'ZIP_SYMLINK', () => fs.readFileSync(path.join(FIXTURES, 'symlink.zip'))],
  ['path traversal', 'ZIP_PATH_UNSAFE', () => withManifest({ '../../etc/cron.d/evil': 'x', 'a.txt': 'A' })],
  ['an absolute name', 'ZIP_PATH_UNSAFE', () => withManifest({ '/etc/passwd': 'x', 'a.txt': 'A' })],
  ['a Windows drive name', 'ZIP_PATH_UNSAFE', () => withManifest({ 'C:\\evil.txt': 'x', 'a.txt': 'A' })],
  ['a duplicate name', 'ZIP_DUPLICATE_ENTRY', () => withManifest({ one: { data: 'A', rawName: Buffer.from('a.txt') }, two: { data: 'B', rawName: Buffer.from('a.txt') } })],
  ['names that differ only by case', 'ZIP_DUPLICATE_ENTRY', () => withManifest({ 'a.txt': 'A', 'A.TXT': 'B' })],
  ['too many entries', 'ZIP_TOO_MANY_ENTRIES', () => withManifest(Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`f${i}.txt`, 'x'])))],
  ['an entry over the size limit', 'ZIP_ENTRY_TOO_LARGE', () => withManifest({ 'a.txt': crypto.randomBytes(4 * 1024 * 1024 + 1) })],
  ['entries over the total limit', 'ZIP_TOO_LARGE', () => withManifest({ 'a.txt': crypto.randomBytes(3_500_000), 'b.txt': crypto.randomBytes(3_500_000) })],
  ['a compression-ratio bomb', 'ZIP_RATIO_BOMB', () => withManifest({ 'a.txt': big(3 * 1024 * 1024) })],
  ['no manifest.xml', 'MANIFEST_MISSING', () => buildZip({ 'a.txt': 'A' })],
  ['a manifest over its size limit', 'MANIFEST_TOO_LARGE', () => withManifest({ 'a.txt': 'A' }, `<manifest>${'<!-- padding -->'.repeat(400)}</manifest>`)],
  ['a DOCTYPE (billion laughs)', 'MANIFEST_DOCTYPE_FORBIDDEN', () => withManifest({ 'a.txt': 'A' }, '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><manifest>&b;</manifest>')],
  ['an external entity (XXE)', 'MANIFEST_DOCTYPE_FORBIDDEN', () => withManifest({ 'a.txt': 'A' }, '<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><manifest><file><name>&x;</name></file></manifest>')],
  ['malformed XML', 'MANIFEST_MALFORMED', () => withManifest({ 'a.txt': 'A' }, '<manifest><file><name>a.txt</summary></file></manifest>')],
  ['two root elements', 'MANIFEST_MALFORMED', () => withManifest({ 'a.txt': 'A' }, `${MANIFEST}${MANIFEST}`)],
  ['a manifest that is not UTF-8', 'MANIFEST_INVALID_ENCODING', () => withManifest({ 'a.txt': 'A' }, Buffer.from('<manifest><file><name>caf\xe9</name></file></manifest>', 'latin1'))],
];

describe('hostile archives answer 422 with a code and write nothing', () => {
  test.each(cases)('%s → %s', async (_label, code, make) => {
    const res = await post(make());
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message).toEqual(expect.any(String));
    await nothingLeft();
  });

  test('an archive over UPLOAD_MAX_BYTES is 413 and nothing stays', async () => {
    const small = await startTestApp({ UPLOAD_MAX_BYTES: '64k' });
    try {
      const editor = await createUser(small, 'editor');
      const smallKey = (await small.deps.users.createApiKey(editor.username)).key;
      const zip = withManifest({ 'a.txt': crypto.randomBytes(100_000) });
      const res = await small.http.post('/api/v1/archives').set('Authorization', `Bearer ${smallKey}`).attach('archive', zip, 'big.zip');
      expect(res.status).toBe(413);
      expect(await small.db.download.count()).toBe(0);
    } finally {
      await small.close();
    }
  });
});

describe('archives made by real tools', () => {
  let src: string;
  beforeAll(() => {
    src = makeTempDir('archive-tools-');
    fs.mkdirSync(path.join(src, 'dist'));
    fs.writeFileSync(path.join(src, 'dist', 'app-2.0.bin'), crypto.randomBytes(200_000));
    fs.writeFileSync(path.join(src, 'NOTES.txt'), 'Release notes. '.repeat(2000));
    fs.writeFileSync(path.join(src, 'café.txt'), 'non-ASCII name\n');
    fs.writeFileSync(
      path.join(src, 'manifest.xml'),
      `<?xml version="1.0" encoding="UTF-8"?>
<manifest>
  <file><name>dist/app-2.0.bin</name><summary>App 2.0</summary><labels><label>Type:Binary</label></labels></file>
  <file><name>NOTES.txt</name><summary>Notes</summary></file>
  <file><name>café.txt</name><summary>Café</summary></file>
</manifest>
`,
    );
  });
  afterAll(() => removeTempDir(src));

  const tools: [string, string, string[]][] = [
    ['zip -r', 'zip', ['-q', '-r', '$ZIP', '.']],
    ['zip -r -0 (stored)', 'zip', ['-q', '-r', '-0', '$ZIP', '.']],
    ['7z a -tzip', '7z', ['a', '-bd', '-tzip', '$ZIP', '.']],
  ];
  test.each(tools)('%s', async (_label, tool, args) => {
    const out = makeTempDir('archive-out-');
    try {
      const zipPath = path.join(out, 'release.zip');
      execFileSync(tool, args.map((a) => (a === '$ZIP' ? zipPath : a)), { cwd: src, stdio: 'ignore', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
      const res = await post(fs.readFileSync(zipPath), 'release.zip').expect(200);
      expect(res.body.created).toHaveLength(3);
      const rows = await t.db.download.findMany({ orderBy: { id: 'asc' } });
      expect(rows.map((r) => [r.fileName, r.sha256])).toEqual([
        ['app-2.0.bin', crypto.createHash('sha256').update(fs.readFileSync(path.join(src, 'dist', 'app-2.0.bin'))).digest('hex')],
        ['NOTES.txt', crypto.createHash('sha256').update(fs.readFileSync(path.join(src, 'NOTES.txt'))).digest('hex')],
        ['café.txt', crypto.createHash('sha256').update('non-ASCII name\n').digest('hex')],
      ]);
    } finally {
      removeTempDir(out);
      await t.deps.downloads.remove((await t.db.download.findMany({ select: { id: true } })).map((d) => d.id));
      await t.db.label.deleteMany();
    }
  });
});

describe('npm run cli -- import-archive', () => {
  test('--dry-run prints the plan as JSON; without it the archive is imported; a bad one exits 1 with the problems', async () => {
    const app = await startTestApp();
    const dir = makeTempDir('archive-cli-');
    try {
      const env = testEnv({ DATABASE_URL: app.config.database.url, MEDIA_ROOT: app.mediaRoot });
      const zip = path.join(dir, 'release.zip');
      fs.writeFileSync(zip, withManifest({ 'a.txt': 'A', 'extra.txt': 'E' }));

      const dry = runCli(['import-archive', zip, '--dry-run'], env);
      expect(dry.status).toBe(0);
      expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, created: ['a'], ignored: ['extra.txt'] });
      expect(await app.db.download.count()).toBe(0);

      const real = runCli(['import-archive', zip], env);
      expect(real.status).toBe(0);
      expect(JSON.parse(real.stdout)).toMatchObject({ dryRun: false, created: ['a'] });
      expect(await app.db.download.findUniqueOrThrow({ where: { slug: 'a' } })).toMatchObject({ fileName: 'a.txt', state: 'published' });

      const again = runCli(['import-archive', zip], env);
      expect(again.status).toBe(1);
      expect(JSON.parse(again.stdout).error).toMatchObject({ code: 'NAME_EXISTS', entry: 1, name: 'a.txt' });
      expect(again.stderr).toContain('Entry 1 (a.txt)');

      const missing = runCli(['import-archive', path.join(dir, 'nope.zip')], env);
      expect(missing.status).toBe(1);
      expect(runCli(['import-archive'], env).status).toBe(2);
    } finally {
      removeTempDir(dir);
      await app.close();
    }
  });
});

describe('two imports at once', () => {
  test('of the same new name: exactly one creates it, the other is refused and leaves nothing', async () => {
    const zip = withManifest({ 'a.txt': crypto.randomBytes(2_000_000) });
    const results = await Promise.all([post(zip), post(zip), post(zip)]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 200)) expect([409, 422]).toContain(r.status);
    expect(await t.db.download.count({ where: { fileName: 'a.txt' } })).toBe(1);
    expect(listFiles(path.join(t.mediaRoot, 'downloads'))).toHaveLength(1);
  });
});
