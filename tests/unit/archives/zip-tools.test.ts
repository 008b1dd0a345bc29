/**
 * Archives made by the real tools people use (Info-ZIP zip and 7-Zip), not by our own writer:
 * their quirks (directory entries, ZIP64 records, data descriptors, UTF-8 names without the
 * flag, Deflate64) are what the reader meets in practice.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { DEFAULT_ZIP_LIMITS, extractEntries, inspectArchive } from '../../../src/archives/zip-reader.ts';
import { AppError } from '../../../src/errors.ts';
import { makeTempDir, rejectionOf, removeTempDir } from '../../helpers/zip.ts';

const LIMITS = { ...DEFAULT_ZIP_LIMITS };
const SOURCES: Record<string, Buffer> = {
  'manifest.xml': Buffer.from('<manifest><file><name>dist/app.bin</name><summary>App</summary></file></manifest>\n'),
  'dist/app.bin': randomBytes(300_000),
  'dist/notes.txt': Buffer.from('Release notes, compressible. '.repeat(4000)),
  'café.txt': Buffer.from('a non-ASCII name\n'),
};
const FILE_NAMES = Object.keys(SOURCES);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let src: string;
let out: string;
beforeEach(() => {
  src = makeTempDir('archives-src-');
  out = makeTempDir('archives-out-');
  for (const [name, data] of Object.entries(SOURCES)) {
    fs.mkdirSync(path.join(src, path.dirname(name)), { recursive: true });
    fs.writeFileSync(path.join(src, name), data);
  }
});
afterEach(() => {
  removeTempDir(src);
  removeTempDir(out);
});

function run(tool: string, args: string[]): string {
  const archive = path.join(out, 'tool.zip');
  execFileSync(tool, [...args.map((a) => (a === '$ZIP' ? archive : a))], { cwd: src, stdio: 'ignore', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  return archive;
}

async function expectReadBack(archive: string): Promise<void> {
  const inspection = await inspectArchive(archive, LIMITS);
  expect(inspection.entries.map((e) => e.name).sort()).toEqual([...FILE_NAMES].sort());
  expect(inspection.manifestXml.equals(SOURCES['manifest.xml']!)).toBe(true);
  const staging = path.join(out, 'staging');
  fs.mkdirSync(staging);
  const files = await extractEntries(archive, FILE_NAMES, staging, LIMITS);
  for (const name of FILE_NAMES) {
    expect(files.get(name), name).toMatchObject({ size: SOURCES[name]!.length, sha256: sha256(SOURCES[name]!) });
  }
}

async function expectRefused(archive: string, code: string): Promise<void> {
  const error = await rejectionOf(inspectArchive(archive, LIMITS));
  expect(error).toBeInstanceOf(AppError);
  expect(error).toMatchObject({ status: 422, code });
}

describe('Info-ZIP zip', () => {
  test.each([
    ['stored (-0)', ['-0']],
    ['deflated (-9)', ['-9']],
    ['with ZIP64 records (-fz)', ['-fz']],
  ])('an archive %s made recursively, with directory entries, is read and extracted byte for byte', async (_label, flags) => {
    await expectReadBack(run('zip', ['-q', '-r', ...flags, '$ZIP', 'manifest.xml', 'dist', 'café.txt']));
  });

  test('entries written from a pipe (data descriptors, sizes after the data) are extracted', async () => {
    const archive = path.join(out, 'piped.zip');
    execFileSync('zip', ['-q', archive, 'manifest.xml'], { cwd: src });
    execFileSync('sh', ['-c', `zip -q "${archive}" - < dist/app.bin`], { cwd: src });
    const files = await extractEntries(archive, ['-'], out, LIMITS);
    expect(files.get('-')).toMatchObject({ size: 300_000, sha256: sha256(SOURCES['dist/app.bin']!) });
  });

  test('a stored symbolic link (-y) is ZIP_SYMLINK', async () => {
    fs.symlinkSync('/etc/passwd', path.join(src, 'passwd-link'));
    await expectRefused(run('zip', ['-q', '-y', '$ZIP', 'manifest.xml', 'passwd-link']), 'ZIP_SYMLINK');
  });

  test('a password-protected archive (-P) is ZIP_ENCRYPTED', async () => {
    await expectRefused(run('zip', ['-q', '-P', 'secret', '$ZIP', 'manifest.xml', 'dist/notes.txt']), 'ZIP_ENCRYPTED');
  });
});

describe('7-Zip', () => {
  test.each([
    ['stored (-mx=0)', ['-mx=0']],
    ['deflated (-mx=9)', ['-mx=9']],
  ])('an archive %s is read and extracted byte for byte', async (_label, flags) => {
    await expectReadBack(run('7z', ['a', '-tzip', ...flags, '$ZIP', 'manifest.xml', 'dist', 'café.txt']));
  });

  test.each([
    ['BZip2', 12],
    ['LZMA', 14],
    ['Deflate64', 9],
  ])('%s compression is ZIP_UNSUPPORTED_COMPRESSION', async (method, number) => {
    const archive = run('7z', ['a', '-tzip', `-mm=${method}`, '$ZIP', 'manifest.xml', 'dist/notes.txt']);
    const error = await rejectionOf(inspectArchive(archive, LIMITS));
    expect(error).toMatchObject({ code: 'ZIP_UNSUPPORTED_COMPRESSION', details: { entry: 'dist/notes.txt', method: number } });
  });

  test('AES-256 encryption is ZIP_ENCRYPTED', async () => {
    await expectRefused(run('7z', ['a', '-tzip', '-mem=AES256', '-psecret', '$ZIP', 'manifest.xml', 'dist/notes.txt']), 'ZIP_ENCRYPTED');
  });
});
