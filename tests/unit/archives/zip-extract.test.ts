import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { checkManifest, DEFAULT_MANIFEST_RULES, parseManifest } from '../../../src/archives/manifest.ts';
import { DEFAULT_ZIP_LIMITS, extractEntries, inspectArchive, type ZipLimits } from '../../../src/archives/zip-reader.ts';
import { AppError } from '../../../src/errors.ts';
import { makeTempDir, rejectionOf, removeTempDir, writeZip } from '../../helpers/zip.ts';

const LIMITS: ZipLimits = { ...DEFAULT_ZIP_LIMITS };
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

let dir: string;
let staging: string;
beforeEach(() => {
  dir = makeTempDir();
  staging = makeTempDir('archives-staging-');
});
afterEach(() => {
  removeTempDir(dir);
  removeTempDir(staging);
});

describe('extracting the named entries', () => {
  const tarball = randomBytes(70_000);
  const installer = Buffer.from('MZ installer '.repeat(5000));

  test('each file is streamed to an opaque hex name with its size and sha256', async () => {
    const zip = writeZip(dir, { 'manifest.xml': '<manifest/>', 'dist/foo.tar.gz': { data: tarball, method: 0 }, 'dist/setup.exe': installer });
    const files = await extractEntries(zip, ['dist/foo.tar.gz', 'dist/setup.exe'], staging, LIMITS);
    expect([...files.keys()]).toEqual(['dist/foo.tar.gz', 'dist/setup.exe']);
    for (const [name, data] of [
      ['dist/foo.tar.gz', tarball],
      ['dist/setup.exe', installer],
    ] as const) {
      const file = files.get(name)!;
      expect(file).toEqual({ path: expect.stringMatching(/^.*\/[0-9a-f]{32}$/), size: data.length, sha256: sha256(data) });
      expect(path.dirname(file.path)).toBe(staging);
      expect(fs.readFileSync(file.path).equals(data)).toBe(true);
    }
  });

  test('only the listed files are written; the manifest and unlisted files are not', async () => {
    const zip = writeZip(dir, { 'manifest.xml': '<manifest/>', 'a.txt': 'a', 'b.txt': 'b', '__MACOSX/._a.txt': 'fork' });
    const files = await extractEntries(zip, ['b.txt'], staging, LIMITS);
    expect([...files.keys()]).toEqual(['b.txt']);
    expect(fs.readdirSync(staging)).toEqual([path.basename(files.get('b.txt')!.path)]);
  });

  test('names are matched canonically and the result is keyed by the canonical name', async () => {
    const zip = writeZip(dir, { 'manifest.xml': '<manifest/>', 'dist/a.txt': 'a' });
    const files = await extractEntries(zip, ['./dist//a.txt'], staging, LIMITS);
    expect([...files.keys()]).toEqual(['dist/a.txt']);
  });

  test('an empty entry becomes an empty file', async () => {
    const zip = writeZip(dir, { 'manifest.xml': '<manifest/>', 'empty.txt': '' });
    const file = (await extractEntries(zip, ['empty.txt'], staging, LIMITS)).get('empty.txt')!;
    expect(file).toMatchObject({ size: 0, sha256: sha256('') });
    expect(fs.statSync(file.path).size).toBe(0);
  });

  test('a name that is not in the archive is NOT_IN_ARCHIVE and nothing is written', async () => {
    const zip = writeZip(dir, { 'manifest.xml': '<manifest/>', 'a.txt': 'a' });
    const error = await rejectionOf(extractEntries(zip, ['a.txt', 'missing.bin'], staging, LIMITS));
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ status: 422, code: 'NOT_IN_ARCHIVE', details: { missing: ['missing.bin'] } });
    expect(fs.readdirSync(staging)).toEqual([]);
  });

  test('the archive is checked again: a hostile archive is refused by extraction too', async () => {
    const zip = writeZip(dir, { 'manifest.xml': '<manifest/>', 'a.txt': 'a', link: { data: '/etc/passwd', symlink: true } });
    const error = await rejectionOf(extractEntries(zip, ['a.txt'], staging, LIMITS));
    expect(error).toMatchObject({ code: 'ZIP_SYMLINK' });
    expect(fs.readdirSync(staging)).toEqual([]);
  });

  test.each([
    ['more', 10],
    ['less', 5000],
  ])('a small deflated entry (inflated whole) that holds %s than it declares is ZIP_CORRUPT, nothing left', async (_label, declaredSize) => {
    const zip = writeZip(dir, { 'manifest.xml': '<manifest/>', 'a.txt': { data: 'abc'.repeat(1000), declaredSize } });
    const error = await rejectionOf(extractEntries(zip, ['a.txt'], staging, LIMITS));
    expect(error).toMatchObject({ status: 422, code: 'ZIP_CORRUPT', details: { entry: 'a.txt' } });
    expect(fs.readdirSync(staging)).toEqual([]);
  });

  test('a deflated entry larger than the read buffer is streamed and arrives intact', async () => {
    const big = randomBytes(3 * 1024 * 1024);
    const zip = writeZip(dir, { 'manifest.xml': '<manifest/>', 'big.bin': big, 'small.txt': 'small '.repeat(100) });
    const files = await extractEntries(zip, ['big.bin', 'small.txt'], staging, LIMITS);
    expect(files.get('big.bin')).toMatchObject({ size: big.length, sha256: sha256(big) });
    expect(fs.readFileSync(files.get('small.txt')!.path, 'utf8')).toBe('small '.repeat(100));
  });

  test('a server-side fault (staging folder missing) is not dressed up as a 422', async () => {
    const zip = writeZip(dir, { 'manifest.xml': '<manifest/>', 'a.txt': 'a' });
    const error = await rejectionOf(extractEntries(zip, ['a.txt'], path.join(staging, 'gone'), LIMITS));
    expect(error).not.toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'ENOENT' });
  });
});

describe('data that does not match its headers: the archive is refused and every file written is removed', () => {
  const good = randomBytes(200_000);

  test.each([
    ['a deflated entry yielding more bytes than declared', { data: randomBytes(1_500_000), declaredSize: 1_000_000 }],
    ['a deflated entry yielding fewer bytes than declared', { data: randomBytes(500_000), declaredSize: 600_000 }],
    ['a stored entry whose bytes do not match its CRC-32', { data: randomBytes(300_000), method: 0 as const, crc: 0x12345678 }],
    ['a deflated entry whose bytes do not match its CRC-32', { data: randomBytes(300_000), crc: 0x12345678 }],
  ])('%s → ZIP_CORRUPT', async (_label, liar) => {
    const zip = writeZip(dir, { 'manifest.xml': '<manifest/>', 'good.bin': { data: good, method: 0 }, 'liar.bin': liar });
    const error = await rejectionOf(extractEntries(zip, ['good.bin', 'liar.bin'], staging, LIMITS));
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ status: 422, code: 'ZIP_CORRUPT', details: { entry: 'liar.bin' } });
    expect(fs.readdirSync(staging)).toEqual([]);
  });

  test('other files already in the staging folder are left alone', async () => {
    fs.writeFileSync(path.join(staging, 'upload.zip'), 'not ours');
    const zip = writeZip(dir, { 'manifest.xml': '<manifest/>', 'liar.bin': { data: randomBytes(100_000), declaredSize: 50_000 } });
    await rejectionOf(extractEntries(zip, ['liar.bin'], staging, LIMITS));
    expect(fs.readdirSync(staging)).toEqual(['upload.zip']);
  });
});

describe('the whole flow: inspect, parse, check, extract', () => {
  test('a well-formed import yields no problems and the listed files, ready to be moved into place', async () => {
    const manifest = `<?xml version="1.0" encoding="UTF-8" ?>
<manifest>
  <file><name>foo-1.2.tar.gz</name><summary>Tarball</summary><replaces>foo-1.1.tar.gz</replaces><labels><label>Type:Archive</label></labels></file>
  <file><name>foo-1.2-installer.exe</name><summary>Windows MSI Installer</summary><labels><label>Type:Installer</label><label>OpSys:Windows</label></labels></file>
</manifest>`;
    const zip = writeZip(dir, {
      'manifest.xml': manifest,
      'foo-1.2.tar.gz': randomBytes(10_000),
      'foo-1.2-installer.exe': 'MZ',
      'README.txt': 'not listed: ignored',
    });
    const inspection = await inspectArchive(zip, LIMITS);
    const entries = parseManifest(inspection.manifestXml);
    const problems = checkManifest(entries, new Set(inspection.entries.map((e) => e.name)), DEFAULT_MANIFEST_RULES);
    expect(problems).toEqual([]);
    const files = await extractEntries(zip, entries.map((e) => e.name), staging, LIMITS);
    expect(entries.map((e) => files.get(e.name)?.size)).toEqual([10_000, 2]);
  });
});
