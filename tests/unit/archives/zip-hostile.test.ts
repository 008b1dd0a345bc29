import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { DEFAULT_ZIP_LIMITS, extractEntries, inspectArchive, type ZipLimits } from '../../../src/archives/zip-reader.ts';
import { AppError } from '../../../src/errors.ts';
import { buildZip, makeTempDir, rejectionOf, removeTempDir, writeZip, type ZipEntries } from '../../helpers/zip.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/archives');
const MANIFEST = '<manifest><file><name>a.txt</name><summary>A</summary></file></manifest>';
const LIMITS: ZipLimits = { ...DEFAULT_ZIP_LIMITS };

let dir: string;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => removeTempDir(dir));

async function refusal(entries: ZipEntries | Buffer, limits: ZipLimits = LIMITS) {
  const file = path.join(dir, 'hostile.zip');
  fs.writeFileSync(file, Buffer.isBuffer(entries) ? entries : buildZip(entries));
  const error = await rejectionOf(inspectArchive(file, limits));
  expect(error).toBeInstanceOf(AppError);
  expect(error.status).toBe(422);
  return error;
}

/** A small deterministic generator, so a failing fuzz case can be replayed. */
function prng(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('files that are not ZIP archives, or damaged ones, are ZIP_CORRUPT', () => {
  test.each([
    ['a PNG renamed .zip', () => fs.readFileSync(path.join(FIXTURES, 'png-renamed.zip'))],
    ['a ZIP truncated before its central directory', () => fs.readFileSync(path.join(FIXTURES, 'truncated.zip'))],
    ['an empty file', () => Buffer.alloc(0)],
    ['a text file', () => Buffer.from('PK? no, just text\n')],
    ['an archive whose end record is cut short', () => buildZip({ 'manifest.xml': MANIFEST }).subarray(0, -6)],
  ])('%s', async (_label, bytes) => {
    const error = await refusal(bytes());
    expect(error.code).toBe('ZIP_CORRUPT');
    expect(error.message).toBe('The archive is damaged or is not a ZIP file.');
  });

  test('an end record that claims more entries than the directory holds', async () => {
    const error = await refusal(buildZip({ 'manifest.xml': MANIFEST, 'a.txt': 'a' }, { entryCountOverride: 5 }));
    expect(error.code).toBe('ZIP_CORRUPT');
  });

  test('a stored entry whose declared size differs from its data', async () => {
    const error = await refusal({ 'manifest.xml': MANIFEST, 'a.txt': { data: 'abc', method: 0, declaredSize: 2 } });
    expect(error.code).toBe('ZIP_CORRUPT');
  });

  test('a deflated entry whose data is not deflate', async () => {
    const error = await refusal({ 'manifest.xml': { data: MANIFEST, payload: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]) } });
    expect(error).toMatchObject({ code: 'ZIP_CORRUPT', details: { entry: 'manifest.xml' } });
  });
});

describe('unsafe entry names are ZIP_PATH_UNSAFE and name the entry', () => {
  test.each([
    ['a parent-directory escape', '../evil.txt', '../evil.txt'],
    ['a deeper escape', 'a/../../evil.txt', 'a/../../evil.txt'],
    ['an absolute path', '/etc/passwd', '/etc/passwd'],
    ['a drive letter with slash', 'C:/evil.txt', 'C:/evil.txt'],
    ['a drive-relative path', 'C:evil.txt', 'C:evil.txt'],
    ['a backslash escape', '..\\evil.txt', '..\\evil.txt'],
    ['a backslash separator', 'dir\\file.txt', 'dir\\file.txt'],
    ['line breaks', 'a\nb\r.txt', 'a\nb\r.txt'],
    ['a NUL byte', 'dir\u0000file.txt', 'dir\u0000file.txt'],
    ['a C1 control', 'a\u009b.txt', 'a\u009b.txt'],
    ['a right-to-left override', 'invoice\u202Etxt.exe', 'invoice\u202Etxt.exe'],
    ['a bidi isolate', 'a\u2067b.txt', 'a\u2067b.txt'],
    ['a lone dot', '.', '.'],
  ])('%s: %j', async (_label, name, entry) => {
    const error = await refusal({ 'manifest.xml': MANIFEST, x: { data: 'x', rawName: Buffer.from(name, 'utf8'), utf8Flag: true } });
    expect(error).toMatchObject({ code: 'ZIP_PATH_UNSAFE', details: { entry } });
  });

  test('a name flagged UTF-8 whose bytes are not UTF-8 (shown as U+FFFD)', async () => {
    const error = await refusal({ 'manifest.xml': MANIFEST, x: { data: 'x', rawName: Buffer.from([0x63, 0xff, 0xfe, 0x2e, 0x74]), utf8Flag: true } });
    expect(error).toMatchObject({ code: 'ZIP_PATH_UNSAFE', details: { entry: 'c\uFFFD\uFFFD.t' } });
  });

  test('the message shows invisible characters as escapes', async () => {
    const error = await refusal({ 'manifest.xml': MANIFEST, 'invoice\u202Etxt.exe': 'x' });
    expect(error.message).toBe(
      'The archive entry "invoice\\u{202e}txt.exe" cannot be accepted: it contains control, bidirectional or undecodable characters.',
    );
  });
});

describe('entries that are not plain readable files', () => {
  test.each([
    ['marked by the symlink option', { data: '/etc/passwd', symlink: true }],
    ['with mode 0o120755 in the external attributes', { data: '../../secret', externalAttributes: (0o120755 << 16) >>> 0 }],
  ])('a symbolic link %s is ZIP_SYMLINK', async (_label, spec) => {
    const error = await refusal({ 'manifest.xml': MANIFEST, link: spec });
    expect(error).toMatchObject({ code: 'ZIP_SYMLINK', details: { entry: 'link' } });
  });

  test.each([
    ['stored', 0],
    ['deflated', 8],
  ] as const)('a traditionally encrypted %s entry is ZIP_ENCRYPTED', async (_label, method) => {
    const error = await refusal({ 'manifest.xml': MANIFEST, 'secret.txt': { data: 'secret', method, encrypted: true } });
    expect(error).toMatchObject({ code: 'ZIP_ENCRYPTED', details: { entry: 'secret.txt' } });
  });

  test('an AES entry (method 99, encrypted) is ZIP_ENCRYPTED, not an unknown method', async () => {
    const error = await refusal({ 'manifest.xml': MANIFEST, 'secret.txt': { data: 'x'.repeat(40), method: 99, encrypted: true } });
    expect(error.code).toBe('ZIP_ENCRYPTED');
  });

  test('strong encryption (flag bit 6) is ZIP_ENCRYPTED', async () => {
    const error = await refusal({ 'manifest.xml': MANIFEST, 'secret.txt': { data: 'x', encrypted: true, extraFlags: 0x40 } });
    expect(error.code).toBe('ZIP_ENCRYPTED');
  });

  test.each([
    ['bzip2', 12],
    ['LZMA', 14],
  ] as const)('a %s entry is ZIP_UNSUPPORTED_COMPRESSION', async (_label, method) => {
    const error = await refusal({ 'manifest.xml': MANIFEST, 'data.bin': { data: 'compressed somehow', method } });
    expect(error).toMatchObject({ code: 'ZIP_UNSUPPORTED_COMPRESSION', details: { entry: 'data.bin', method } });
  });
});

describe('names that would collide are ZIP_DUPLICATE_ENTRY', () => {
  test.each([
    ['the same name twice', 'a.txt', 'a.txt'],
    ['two manifests (which one would win depends on the reader)', 'manifest.xml', 'manifest.xml'],
    ['names differing only in case', 'README.txt', 'readme.TXT'],
    ['composed and decomposed accents', 'caf\u00e9.txt', 'cafe\u0301.txt'],
    ['a name and its ./ spelling', 'a.txt', './a.txt'],
  ])('%s', async (_label, first, second) => {
    const error = await refusal({ 'manifest.xml': MANIFEST, one: { data: '1', rawName: Buffer.from(first) }, two: { data: '2', rawName: Buffer.from(second) } });
    expect(error.code).toBe('ZIP_DUPLICATE_ENTRY');
  });
});

describe('limits, decided from declared sizes before any data is read', () => {
  const files = (n: number, size = 100): ZipEntries =>
    Object.fromEntries([['manifest.xml', MANIFEST], ...Array.from({ length: n }, (_, i) => [`f${i}.bin`, 'x'.repeat(size)])]);

  test('more entries than allowed is ZIP_TOO_MANY_ENTRIES; exactly the limit is fine', async () => {
    const error = await refusal(files(3), { ...LIMITS, maxEntries: 3 });
    expect(error).toMatchObject({ code: 'ZIP_TOO_MANY_ENTRIES', details: { entryCount: 4, limit: 3 } });
    await expect(inspectArchive(writeZip(dir, files(2)), { ...LIMITS, maxEntries: 3 })).resolves.toBeDefined();
  });

  test('an end record claiming 60,000 entries is refused before the directory is read', async () => {
    const error = await refusal(buildZip({ 'manifest.xml': MANIFEST }, { entryCountOverride: 60_000 }));
    expect(error).toMatchObject({ code: 'ZIP_TOO_MANY_ENTRIES', details: { entryCount: 60_000 } });
  });

  test('an entry declared larger than allowed is ZIP_ENTRY_TOO_LARGE; exactly the limit is fine', async () => {
    const error = await refusal({ 'manifest.xml': MANIFEST, 'big.bin': 'x'.repeat(1001) }, { ...LIMITS, maxEntryBytes: 1000 });
    expect(error).toMatchObject({ code: 'ZIP_ENTRY_TOO_LARGE', details: { entry: 'big.bin', size: 1001, limit: 1000 } });
    const fits = writeZip(dir, { 'manifest.xml': MANIFEST, 'big.bin': 'x'.repeat(1000) });
    await expect(inspectArchive(fits, { ...LIMITS, maxEntryBytes: 1000 })).resolves.toBeDefined();
  });

  test('entries that together expand past the total limit are ZIP_TOO_LARGE', async () => {
    const limit = MANIFEST.length + 250;
    const error = await refusal(files(3), { ...LIMITS, maxTotalBytes: limit });
    expect(error).toMatchObject({ code: 'ZIP_TOO_LARGE', details: { entry: 'f2.bin', limit } });
    await expect(inspectArchive(writeZip(dir, files(2)), { ...LIMITS, maxTotalBytes: limit })).resolves.toBeDefined();
  });

  test('an entry over 1 MiB that expands more than maxRatio times is ZIP_RATIO_BOMB', async () => {
    const error = await refusal({ 'manifest.xml': MANIFEST, 'zeros.bin': Buffer.alloc(2 * 1024 * 1024) });
    expect(error).toMatchObject({ code: 'ZIP_RATIO_BOMB', details: { entry: 'zeros.bin', size: 2 * 1024 * 1024 } });
  });

  test('the ratio is not applied to entries of 1 MiB or less: tiny files compress absurdly well', async () => {
    const file = writeZip(dir, { 'manifest.xml': MANIFEST, 'zeros.bin': Buffer.alloc(1024 * 1024) });
    await expect(inspectArchive(file, LIMITS)).resolves.toBeDefined();
  });

  test('a stored entry over 1 MiB whose compressed size is 0 (an infinite ratio) is ZIP_RATIO_BOMB', async () => {
    const error = await refusal({ 'manifest.xml': MANIFEST, 'x.bin': { data: '', method: 8, declaredSize: 2 * 1024 * 1024, payload: Buffer.alloc(0) } });
    expect(error.code).toBe('ZIP_RATIO_BOMB');
  });
});

describe('robustness', () => {
  test('no corruption of a valid archive makes the reader fail with anything but a 422, or hang', async () => {
    const good = buildZip({
      'manifest.xml': MANIFEST,
      'a.txt': 'The quick brown fox jumps over the lazy dog. '.repeat(40),
      'b.bin': { data: Buffer.from('stored bytes stored bytes'), method: 0 },
    });
    const random = prng(20240101);
    const staging = makeTempDir('archives-fuzz-');
    try {
      for (let round = 0; round < 300; round += 1) {
        const mutated = Buffer.from(good);
        const flips = 1 + Math.floor(random() * 3);
        for (let i = 0; i < flips; i += 1) mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
        const file = path.join(dir, `fuzz-${round}.zip`);
        fs.writeFileSync(file, mutated);
        for (const attempt of [() => inspectArchive(file, LIMITS), () => extractEntries(file, ['a.txt', 'b.bin'], staging, LIMITS)]) {
          const outcome = await attempt().then(
            () => 'ok',
            (error: unknown) => (error instanceof AppError && error.status === 422 ? 'refused' : error),
          );
          if (outcome !== 'ok' && outcome !== 'refused') throw new Error(`round ${round}: ${String(outcome)}`);
        }
        for (const leftover of fs.readdirSync(staging)) fs.rmSync(path.join(staging, leftover));
      }
    } finally {
      removeTempDir(staging);
    }
  });
});
