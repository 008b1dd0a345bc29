import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { DEFAULT_ZIP_LIMITS, inspectArchive, type ZipLimits } from '../../../src/archives/zip-reader.ts';
import { AppError } from '../../../src/errors.ts';
import { buildZip, makeTempDir, rejectionOf, removeTempDir, writeZip, type ZipEntries } from '../../helpers/zip.ts';

const MANIFEST = '<manifest><file><name>a.txt</name><summary>A</summary></file></manifest>';
const LIMITS: ZipLimits = { ...DEFAULT_ZIP_LIMITS };

let dir: string;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeTempDir(dir));

const inspect = (entries: ZipEntries, limits: ZipLimits = LIMITS) => inspectArchive(writeZip(dir, entries), limits);

describe('inspecting a good archive', () => {
  test('lists every file with its sizes and returns the manifest bytes', async () => {
    const result = await inspect({
      'manifest.xml': MANIFEST,
      'dist/foo-1.2.tar.gz': { data: 'tarball bytes', method: 0 },
      'dist/setup.exe': 'x'.repeat(1000),
    });
    expect(result.manifestXml.toString('utf8')).toBe(MANIFEST);
    expect(result.entries).toEqual([
      { name: 'manifest.xml', size: MANIFEST.length, compressedSize: expect.any(Number) },
      { name: 'dist/foo-1.2.tar.gz', size: 13, compressedSize: 13 },
      { name: 'dist/setup.exe', size: 1000, compressedSize: expect.any(Number) },
    ]);
    expect(result.entries[2]!.compressedSize).toBeLessThan(100);
  });

  test('directory entries are dropped and odd but harmless paths are canonicalised', async () => {
    const result = await inspect({ 'manifest.xml': MANIFEST, 'dist/': '', './a.txt': '1', 'b//c.txt': '2', 'd/./e.txt': '3', '...': '4' });
    expect(result.entries.map((e) => e.name)).toEqual(['manifest.xml', 'a.txt', 'b/c.txt', 'd/e.txt', '...']);
  });

  test('__MACOSX entries and dotfiles are listed like any other file', async () => {
    const result = await inspect({ 'manifest.xml': MANIFEST, '__MACOSX/._a.txt': 'resource fork', '.DS_Store': 'finder' });
    expect(result.entries.map((e) => e.name)).toEqual(['manifest.xml', '__MACOSX/._a.txt', '.DS_Store']);
  });

  test('a nested archive is an opaque file: its entries are not listed', async () => {
    const inner = buildZip({ 'inner.txt': 'inside', '../escape.txt': 'would be unsafe if it were read' });
    const result = await inspect({ 'manifest.xml': MANIFEST, 'bundle.zip': { data: inner, method: 0 } });
    expect(result.entries.map((e) => e.name)).toEqual(['manifest.xml', 'bundle.zip']);
    expect(result.entries[1]!.size).toBe(inner.length);
  });

  test('bytes before the first entry (a self-extractor stub) are tolerated: only entries are ever used', async () => {
    const zip = path.join(dir, 'sfx.zip');
    fs.writeFileSync(zip, buildZip({ 'manifest.xml': MANIFEST, 'a.txt': 'a' }, { prefix: Buffer.from('MZ\x90\x00 stub program '.repeat(100)) }));
    const result = await inspectArchive(zip, LIMITS);
    expect(result.entries.map((e) => e.name)).toEqual(['manifest.xml', 'a.txt']);
  });

  test('an empty file is a file', async () => {
    const result = await inspect({ 'manifest.xml': MANIFEST, 'empty.txt': '' });
    expect(result.entries[1]).toEqual({ name: 'empty.txt', size: 0, compressedSize: expect.any(Number) });
  });
});

describe('file name encodings', () => {
  test('a name flagged as UTF-8 is read as UTF-8 and composed (NFC)', async () => {
    const result = await inspect({ 'manifest.xml': MANIFEST, 'cafe\u0301.txt': { data: '1', utf8Flag: true } });
    expect(result.entries[1]!.name).toBe('caf\u00e9.txt');
  });

  test('UTF-8 bytes without the flag (as Info-ZIP writes them) are read as UTF-8, not CP437', async () => {
    const result = await inspect({ 'manifest.xml': MANIFEST, x: { data: '1', rawName: Buffer.from('café.txt'), utf8Flag: false } });
    expect(result.entries[1]!.name).toBe('café.txt');
  });

  test('bytes that are not UTF-8 and carry no flag are read as CP437', async () => {
    const cp437 = Buffer.from([0x63, 0x61, 0x66, 0x82, 0x2e, 0x74, 0x78, 0x74]);
    const result = await inspect({ 'manifest.xml': MANIFEST, x: { data: '1', rawName: cp437, utf8Flag: false } });
    expect(result.entries[1]!.name).toBe('café.txt');
  });
});

describe('the manifest', () => {
  test('a missing manifest is MANIFEST_MISSING', async () => {
    const error = await rejectionOf(inspect({ 'a.txt': 'no manifest here' }));
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ status: 422, code: 'MANIFEST_MISSING' });
  });

  test('a manifest inside a folder is not at the root, and the message says how to fix it', async () => {
    const error = await rejectionOf(inspect({ 'foo-1.2/manifest.xml': MANIFEST, 'foo-1.2/a.txt': 'a' }));
    expect(error).toMatchObject({ code: 'MANIFEST_MISSING', details: { found: 'foo-1.2/manifest.xml' } });
    expect(error.message).toMatch(/foo-1\.2\/manifest\.xml.*inside that folder/);
  });

  test('the manifest name is exact: Manifest.XML is not manifest.xml', async () => {
    const error = await rejectionOf(inspect({ 'Manifest.XML': MANIFEST }));
    expect(error).toMatchObject({ code: 'MANIFEST_MISSING' });
  });

  test('./manifest.xml is the root manifest', async () => {
    const result = await inspect({ './manifest.xml': MANIFEST });
    expect(result.manifestXml.toString()).toBe(MANIFEST);
  });

  test('a manifest declared larger than the limit is refused before it is read', async () => {
    const limits = { ...LIMITS, maxManifestBytes: 1024 };
    const big = `<manifest>${' '.repeat(1100)}</manifest>`;
    const error = await rejectionOf(inspect({ 'manifest.xml': big }, limits));
    expect(error).toMatchObject({ status: 422, code: 'MANIFEST_TOO_LARGE', details: { entry: 'manifest.xml', limit: 1024 } });
  });

  test('a manifest exactly at the limit is read', async () => {
    const exact = `<manifest>${' '.repeat(1024 - 21)}</manifest>`;
    expect(exact).toHaveLength(1024);
    const result = await inspect({ 'manifest.xml': exact }, { ...LIMITS, maxManifestBytes: 1024 });
    expect(result.manifestXml).toHaveLength(1024);
  });

  test('a manifest whose data is longer than its declared size is ZIP_CORRUPT, never read past the declaration', async () => {
    const error = await rejectionOf(inspect({ 'manifest.xml': { data: MANIFEST, declaredSize: 10 } }));
    expect(error).toMatchObject({ status: 422, code: 'ZIP_CORRUPT', details: { entry: 'manifest.xml' } });
  });
});
