import { describe, expect, test } from 'vitest';
import {
  checkManifest,
  DEFAULT_MANIFEST_RULES,
  MAX_DESCRIPTION_LENGTH,
  MAX_SUMMARY_LENGTH,
  parseManifest,
  type ManifestEntry,
  type ManifestRules,
} from '../../../src/archives/manifest.ts';

const ARCHIVE = new Set(['foo-1.2.tar.gz', 'foo-1.2-installer.exe', 'dist/README', 'docs/Guide.pdf', '0', 'manifest.xml']);
const RULES: ManifestRules = { ...DEFAULT_MANIFEST_RULES };

function entry(index: number, fields: Partial<ManifestEntry> = {}): ManifestEntry {
  return { index, name: 'foo-1.2.tar.gz', summary: 'Tarball', description: '', labels: [], ...fields };
}

const check = (entries: ManifestEntry[], rules: Partial<ManifestRules> = {}) => checkManifest(entries, ARCHIVE, { ...RULES, ...rules });
const codes = (entries: ManifestEntry[], rules: Partial<ManifestRules> = {}) => check(entries, rules).map((p) => p.code);

describe('a good manifest', () => {
  test('has no problems', () => {
    const entries = [
      entry(1, { labels: ['Type:Archive'] }),
      entry(2, { name: 'foo-1.2-installer.exe', summary: 'Installer', labels: ['Type:Installer', 'OpSys:Windows', 'Featured'] }),
    ];
    expect(check(entries)).toEqual([]);
  });

  test('"0" is a real name and a real summary (the seed treated it as empty)', () => {
    expect(check([entry(1, { name: '0', summary: '0' })])).toEqual([]);
  });
});

describe('every problem is reported at once, each with its entry number and name', () => {
  test('the report lists all problems of all entries in manifest order', () => {
    const entries = [
      entry(1),
      entry(2, { name: 'missing.zip', summary: '', labels: ['Type:A', 'Type:B'] }),
      entry(3, { name: '', summary: 'No name' }),
      entry(4, { name: 'foo-1.2.tar.gz', summary: 'Again' }),
      entry(5, { name: '../etc/passwd', labels: ['Type:'] }),
    ];
    expect(check(entries)).toEqual([
      { entry: 2, name: 'missing.zip', code: 'NOT_IN_ARCHIVE', message: 'Entry 2 (missing.zip): the archive has no file with this name.' },
      { entry: 2, name: 'missing.zip', code: 'SUMMARY_MISSING', message: 'Entry 2 (missing.zip): the <summary> (the title shown for the file) is missing or empty.' },
      { entry: 2, name: 'missing.zip', code: 'ONE_MAX_CLASS', message: 'Entry 2 (missing.zip): only one Type label is allowed.' },
      { entry: 3, code: 'NAME_MISSING', message: 'Entry 3: the <name> of the file is missing or empty.' },
      { entry: 4, name: 'foo-1.2.tar.gz', code: 'DUPLICATE_NAME', message: 'Entry 4 (foo-1.2.tar.gz): this file is already listed as entry 1.' },
      {
        entry: 5,
        name: '../etc/passwd',
        code: 'NAME_UNSAFE',
        message: 'Entry 5 (../etc/passwd): the name cannot be used as a path inside the archive: it contains a ".." path segment.',
      },
      {
        entry: 5,
        name: '../etc/passwd',
        code: 'LABEL_INVALID',
        message: 'Entry 5 (../etc/passwd): The label "Type:" needs a class and a name, like Type:Installer.',
      },
    ]);
  });

  test('a parsed manifest is checked end to end', () => {
    const xml = `<manifest>
      <file><name>foo-1.2.tar.gz</name><summary>Tarball</summary></file>
      <file><name>foo.exe</name><summary>Installer</summary></file>
    </manifest>`;
    const problems = checkManifest(parseManifest(Buffer.from(xml)), ARCHIVE, { ...RULES, allowedExtensions: ['gz', 'zip'] });
    expect(problems.map((p) => p.message)).toEqual([
      'Entry 2 (foo.exe): the archive has no file with this name.',
      'Entry 2 (foo.exe): files with the extension .exe are not allowed.',
    ]);
  });
});

describe('names', () => {
  test.each([
    ['a parent escape', '../x.tar.gz', 'it contains a ".." path segment'],
    ['an escape in the middle', 'dist/../../x', 'it contains a ".." path segment'],
    ['an absolute path', '/etc/passwd', 'it is an absolute path'],
    ['a drive letter', 'C:/x.exe', 'it is an absolute path'],
    ['backslashes', 'dist\\README', 'it contains a backslash'],
    ['a control character', 'a\u0000b', 'it contains control, bidirectional or undecodable characters'],
    ['a right-to-left override', 'invoice\u202Etxt.exe', 'it contains control, bidirectional or undecodable characters'],
  ])('%s is NAME_UNSAFE even though no such file exists', (_label, name, reason) => {
    const problems = check([entry(1, { name })]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: 'NAME_UNSAFE', name });
    expect(problems[0]!.message).toContain(reason);
  });

  test('invisible characters are escaped in the message', () => {
    expect(check([entry(1, { name: 'invoice\u202Etxt.exe' })])[0]!.message).toMatch(/^Entry 1 \(invoice\\u\{202e\}txt\.exe\): /);
  });

  test.each(['manifest.xml', './manifest.xml', 'Manifest.XML'])('%j is SELF_REFERENCE', (name) => {
    expect(codes([entry(1, { name })])).toEqual(['SELF_REFERENCE']);
  });

  test('a name that differs from an archive file only in case is NOT_IN_ARCHIVE, with a hint', () => {
    const [problem] = check([entry(1, { name: 'docs/guide.pdf' })]);
    expect(problem).toMatchObject({ code: 'NOT_IN_ARCHIVE' });
    expect(problem!.message).toBe('Entry 1 (docs/guide.pdf): the archive has no file with this name (it has "docs/Guide.pdf": names are case-sensitive).');
  });

  test.each([
    ['the same name', 'foo-1.2.tar.gz', 'foo-1.2.tar.gz'],
    ['a ./ spelling of the same name', 'foo-1.2.tar.gz', './foo-1.2.tar.gz'],
    ['a name differing only in case', 'foo-1.2.tar.gz', 'FOO-1.2.TAR.GZ'],
  ])('%s twice is DUPLICATE_NAME on the second', (_label, first, second) => {
    const problems = check([entry(1, { name: first }), entry(2, { name: 'dist/README' }), entry(3, { name: second })]);
    expect(problems).toEqual([expect.objectContaining({ entry: 3, code: 'DUPLICATE_NAME' })]);
    expect(problems[0]!.message).toContain('already listed as entry 1');
  });
});

describe('extensions', () => {
  const allowed = { allowedExtensions: ['zip', '.TAR.GZ', 'exe'] };

  test.each([
    ['foo-1.2.tar.gz', []],
    ['foo-1.2-installer.exe', []],
    ['docs/Guide.pdf', ['EXTENSION_NOT_ALLOWED']],
    ['dist/README', ['EXTENSION_NOT_ALLOWED']],
  ])('with zip, .TAR.GZ and exe allowed, %j gives %j', (name, expected) => {
    expect(codes([entry(1, { name })], allowed)).toEqual(expected);
  });

  test('the message names the extension, or says there is none', () => {
    expect(check([entry(1, { name: 'docs/Guide.pdf' })], allowed)[0]!.message).toBe('Entry 1 (docs/Guide.pdf): files with the extension .pdf are not allowed.');
    expect(check([entry(1, { name: 'dist/README' })], allowed)[0]!.message).toBe('Entry 1 (dist/README): files without an extension are not allowed.');
  });

  test('the comparison ignores case', () => {
    expect(codes([entry(1, { name: 'docs/Guide.pdf' })], { allowedExtensions: ['PDF'] })).toEqual([]);
  });

  test.each([null, []])('an allow-list of %j allows every extension', (allowedExtensions) => {
    expect(codes([entry(1, { name: 'dist/README' }), entry(2, { name: 'docs/Guide.pdf' })], { allowedExtensions })).toEqual([]);
  });
});

describe('summary and description', () => {
  test('an empty summary is SUMMARY_MISSING (whitespace-only ones arrive empty: parsing trims)', () => {
    expect(codes([entry(1, { summary: '' })])).toEqual(['SUMMARY_MISSING']);
    expect(codes(parseManifest(Buffer.from('<manifest><file><name>0</name><summary> \n </summary></file></manifest>')))).toEqual(['SUMMARY_MISSING']);
  });

  test(`a summary of ${MAX_SUMMARY_LENGTH} characters is fine, one more is SUMMARY_TOO_LONG`, () => {
    expect(codes([entry(1, { summary: 'a'.repeat(MAX_SUMMARY_LENGTH) })])).toEqual([]);
    const [problem] = check([entry(1, { summary: 'a'.repeat(MAX_SUMMARY_LENGTH + 1) })]);
    expect(problem).toMatchObject({ code: 'SUMMARY_TOO_LONG', message: 'Entry 1 (foo-1.2.tar.gz): the summary has 201 characters; at most 200 are allowed.' });
  });

  test('lengths count characters, not UTF-16 units: 200 emoji are a valid summary', () => {
    expect(codes([entry(1, { summary: '😀'.repeat(MAX_SUMMARY_LENGTH) })])).toEqual([]);
  });

  test(`a description of ${MAX_DESCRIPTION_LENGTH} characters is fine, one more is DESCRIPTION_TOO_LONG`, () => {
    expect(codes([entry(1, { description: 'd'.repeat(MAX_DESCRIPTION_LENGTH) })])).toEqual([]);
    expect(codes([entry(1, { description: 'd'.repeat(MAX_DESCRIPTION_LENGTH + 1) })])).toEqual(['DESCRIPTION_TOO_LONG']);
  });
});

describe('labels', () => {
  const labels = (n: number) => Array.from({ length: n }, (_, i) => `Class${i}:Name`);

  test('at most maxLabels distinct labels; more is TOO_MANY_LABELS', () => {
    expect(codes([entry(1, { labels: labels(6) })])).toEqual([]);
    const [problem] = check([entry(1, { labels: labels(7) })]);
    expect(problem).toMatchObject({ code: 'TOO_MANY_LABELS', message: 'Entry 1 (foo-1.2.tar.gz): 7 labels are given; at most 6 are allowed.' });
    expect(codes([entry(1, { labels: labels(3) })], { maxLabels: 2 })).toEqual(['TOO_MANY_LABELS']);
  });

  test('a label given twice counts once, for the limit and for one-max classes', () => {
    const sixDistinct = ['Type:A', ' Type : A ', 'OpSys:Linux', 'OpSys:Linux', ...labels(4)];
    expect(codes([entry(1, { labels: sixDistinct })])).toEqual([]);
  });

  test.each([
    ['Type:', 'needs a class and a name'],
    [':Windows', 'needs a class and a name'],
    ['OpSys:Win\u202Edows', 'contains control characters'],
    [`Type:${'x'.repeat(101)}`, 'at most 100 characters'],
  ])('%j is LABEL_INVALID', (label, reason) => {
    const problems = check([entry(1, { labels: ['Type:Archive', label] })]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: 'LABEL_INVALID' });
    expect(problems[0]!.message).toContain(reason);
  });

  test('each invalid label is its own problem', () => {
    expect(codes([entry(1, { labels: ['Type:', ':x', 'Good:One'] })])).toEqual(['LABEL_INVALID', 'LABEL_INVALID']);
  });

  test('two labels of a one-max class (compared without case) are ONE_MAX_CLASS', () => {
    expect(codes([entry(1, { labels: ['Type:Archive', 'type:Source'] })])).toEqual(['ONE_MAX_CLASS']);
    expect(codes([entry(1, { labels: ['OpSys:Linux', 'OpSys:Windows'] })])).toEqual([]);
  });

  test('each one-max class over its limit is its own problem', () => {
    const problems = check([entry(1, { labels: ['Type:A', 'Type:B', 'OpSys:Linux', 'OpSys:Windows'] })], { oneMaxClasses: ['Type', 'OpSys'] });
    expect(problems.map((p) => p.message)).toEqual([
      'Entry 1 (foo-1.2.tar.gz): only one Type label is allowed.',
      'Entry 1 (foo-1.2.tar.gz): only one OpSys label is allowed.',
    ]);
  });

  test('a label without a colon belongs to the class Other', () => {
    expect(codes([entry(1, { labels: ['Featured', 'Beta'] })], { oneMaxClasses: ['Other'] })).toEqual(['ONE_MAX_CLASS']);
  });
});
