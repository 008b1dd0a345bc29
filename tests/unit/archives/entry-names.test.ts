import { describe, expect, test } from 'vitest';
import {
  collisionKey,
  lastExtension,
  normalizeEntryName,
  normalizeExtensionList,
  printableName,
  unsafeNameReason,
} from '../../../src/archives/entry-names.ts';

describe('archive names that are safe to use as paths inside the archive', () => {
  test.each(['a.txt', 'dist/foo-1.2.tar.gz', './a.txt', 'a//b.txt', 'a/./c.txt', '...', '.hidden', '__MACOSX/._a.txt', 'café.txt', 'dir/ spaced name.txt'])(
    '%j is safe',
    (name) => {
      expect(unsafeNameReason(name)).toBeUndefined();
    },
  );
});

describe('archive names that are refused, with the reason', () => {
  test.each([
    ['../evil.txt', '".." path segment'],
    ['a/../../evil.txt', '".." path segment'],
    ['a/../b.txt', '".." path segment'],
    ['/etc/passwd', 'absolute path'],
    ['C:/evil.txt', 'absolute path'],
    ['c:evil.txt', 'absolute path'],
    ['..\\evil.txt', 'backslash'],
    ['dir\\file.txt', 'backslash'],
    ['a\nb.txt', 'control'],
    ['a\u0000b.txt', 'control'],
    ['a\u007fb.txt', 'control'],
    ['a\u0085b.txt', 'control'],
    ['\u202Etxt.exe', 'bidirectional'],
    ['a\u2066b.txt', 'bidirectional'],
    ['caf\uFFFD.txt', 'undecodable'],
    ['', 'names no file'],
    ['.', 'names no file'],
    ['./', 'names no file'],
    ['   ', 'names no file'],
  ])('%j is refused: %s', (name, reason) => {
    expect(unsafeNameReason(name)).toContain(reason);
  });
});

describe('canonical names', () => {
  test.each([
    ['./a.txt', 'a.txt'],
    ['a//b.txt', 'a/b.txt'],
    ['a/./c.txt', 'a/c.txt'],
    ['cafe\u0301.txt', 'caf\u00e9.txt'],
    ['Dist/A.TXT', 'Dist/A.TXT'],
  ])('%j is compared as %j', (name, canonical) => {
    expect(normalizeEntryName(name)).toBe(canonical);
  });

  test('names that differ only in case or composition share a collision key', () => {
    expect(collisionKey('README.txt')).toBe(collisionKey('readme.TXT'));
    expect(collisionKey('cafe\u0301.txt')).toBe(collisionKey('CAF\u00c9.txt'));
    expect(collisionKey('a.txt')).not.toBe(collisionKey('b.txt'));
  });
});

describe('extensions', () => {
  test.each([
    ['foo-1.2.tar.gz', 'gz'],
    ['Setup.EXE', 'exe'],
    ['dist/notes.v2/README', ''],
    ['.bashrc', ''],
    ['trailing.', ''],
  ])('the last extension of %j is %j', (name, extension) => {
    expect(lastExtension(name)).toBe(extension);
  });

  test('an allow-list from settings keeps only the last, lower-cased part of each extension', () => {
    expect([...normalizeExtensionList(['.TAR.GZ', 'zip', ' exe ', '', '.'])]).toEqual(['gz', 'zip', 'exe']);
  });
});

test('printable names show invisible and reordering characters as escapes', () => {
  expect(printableName('a\u202Eexe.txt\n')).toBe('a\\u{202e}exe.txt\\u{a}');
  expect(printableName('café.txt')).toBe('café.txt');
});
