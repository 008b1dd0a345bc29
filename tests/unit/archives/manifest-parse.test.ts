import { describe, expect, test } from 'vitest';
import { parseManifest, type ManifestEntry } from '../../../src/archives/manifest.ts';
import { AppError } from '../../../src/errors.ts';

const SEED_EXAMPLE = `<?xml version="1.0" encoding="UTF-8" ?>
<manifest>
<file>
<name>foo-1.2.tar.gz</name>
<summary>Tarball</summary>
<replaces>foo-1.1.tar.gz</replaces>
<labels><label>Type:Archive</label></labels>
</file>
<file>
<name>foo-1.2-installer.exe</name>
<summary>Windows MSI Installer</summary>
<description>This installer needs Windows XP SP2 or later.</description>
<labels><label>Type:Installer</label><label>OpSys:Windows</label></labels>
</file>
</manifest>`;

const parse = (text: string | Buffer) => parseManifest(Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'));
const parseFile = (inner: string): ManifestEntry => parse(`<manifest><file>${inner}</file></manifest>`)[0]!;

function refusal(text: string | Buffer): AppError {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).status).toBe(422);
    return error as AppError;
  }
  throw new Error('expected the manifest to be refused');
}

describe('the seed example', () => {
  test('parses into two entries, numbered from 1', () => {
    expect(parse(SEED_EXAMPLE)).toEqual([
      { index: 1, name: 'foo-1.2.tar.gz', summary: 'Tarball', description: '', replaces: 'foo-1.1.tar.gz', labels: ['Type:Archive'] },
      {
        index: 2,
        name: 'foo-1.2-installer.exe',
        summary: 'Windows MSI Installer',
        description: 'This installer needs Windows XP SP2 or later.',
        labels: ['Type:Installer', 'OpSys:Windows'],
      },
    ]);
  });

  test('an entry without <replaces> has no replaces key at all', () => {
    expect(parse(SEED_EXAMPLE)[1]).not.toHaveProperty('replaces');
    expect(parseFile('<name>a</name><replaces>  </replaces>')).not.toHaveProperty('replaces');
  });
});

describe('reading values', () => {
  test('<tags><tag> (the seed DTD spelling) is read like <labels><label>, and both may be used', () => {
    expect(parseFile('<name>a</name><tags><tag>Type:Archive</tag></tags><labels><label>OpSys:Linux</label></labels>').labels).toEqual([
      'OpSys:Linux',
      'Type:Archive',
    ]);
    expect(parseFile('<labels><label>A:1</label></labels><labels><label>B:2</label></labels>').labels).toEqual(['A:1', 'B:2']);
  });

  test('element order inside <file> is free', () => {
    const entry = parseFile('<labels><label>Type:Archive</label></labels><summary>S</summary><description>D</description><name>n.zip</name>');
    expect(entry).toMatchObject({ name: 'n.zip', summary: 'S', description: 'D', labels: ['Type:Archive'] });
  });

  test.each(['1.10', '007', '1e5', '0x10', 'true', '-0', '0', 'null', 'Infinity'])('%j stays the exact string (no number coercion)', (value) => {
    const entry = parseFile(`<name>${value}</name><summary>${value}</summary><labels><label>${value}</label></labels>`);
    expect(entry).toMatchObject({ name: value, summary: value, labels: [value] });
  });

  test('surrounding whitespace is trimmed, inner line breaks are kept', () => {
    const entry = parseFile('<name>\n\t a.txt \n</name><summary>  Two  words </summary><description>\n  line one\n  line two\n</description>');
    expect(entry).toMatchObject({ name: 'a.txt', summary: 'Two  words', description: 'line one\n  line two' });
  });

  test('CDATA and escaped markup are kept as literal text', () => {
    const entry = parseFile('<summary>&lt;script&gt;alert(1)&lt;/script&gt;</summary><description><![CDATA[<script>alert(1)</script>]]></description>');
    expect(entry.summary).toBe('<script>alert(1)</script>');
    expect(entry.description).toBe('<script>alert(1)</script>');
  });

  test('entities are decoded once: &amp;lt; is the text &lt;, not <', () => {
    expect(parseFile('<summary>a &amp;lt; b &amp;&amp; c &quot;d&quot; &apos;e&apos;</summary>').summary).toBe(`a &lt; b && c "d" 'e'`);
  });

  test('character references are decoded; references to characters XML forbids stay as written', () => {
    expect(parseFile('<summary>caf&#233; caf&#xE9; &#x1F600;</summary>').summary).toBe('café café 😀');
    expect(parseFile('<summary>a&#0;b&#xD800;c&#x110000;</summary>').summary).toBe('a&#0;b&#xD800;c&#x110000;');
  });

  test('HTML entities are not XML: &eacute; stays as written', () => {
    expect(parseFile('<summary>caf&eacute;</summary>').summary).toBe('caf&eacute;');
  });

  test('attributes, comments and processing instructions are ignored', () => {
    const entry = parseFile('<!-- note --><?pi data?><name lang="en">a.txt</name><summary>S<!-- inner --></summary>');
    expect(entry).toMatchObject({ name: 'a.txt', summary: 'S' });
  });

  test('empty labels are dropped and labels are trimmed', () => {
    expect(parseFile('<labels><label/><label>  Type:A  </label><label> </label></labels>').labels).toEqual(['Type:A']);
  });

  test('an empty <file/> is an entry with nothing in it, left for checkManifest to report', () => {
    expect(parse('<manifest><file/><file><name>b</name></file></manifest>')).toEqual([
      { index: 1, name: '', summary: '', description: '', labels: [] },
      { index: 2, name: 'b', summary: '', description: '', labels: [] },
    ]);
  });

  test('a safe name is canonicalised, so it can be looked up among the archive names', () => {
    expect(parseFile('<name>./dist//a.txt</name>').name).toBe('dist/a.txt');
    expect(parseFile('<name>cafe\u0301.txt</name>').name).toBe('caf\u00e9.txt');
  });

  test('an unsafe name is kept exactly as written, so the report shows what was written', () => {
    expect(parseFile('<name>a/../../etc/passwd</name>').name).toBe('a/../../etc/passwd');
  });

  test('a UTF-8 byte order mark is accepted', () => {
    expect(parse(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(SEED_EXAMPLE)]))).toHaveLength(2);
  });
});

describe('encodings other than UTF-8 are MANIFEST_INVALID_ENCODING', () => {
  test.each([
    ['invalid UTF-8 bytes', Buffer.from([...Buffer.from('<manifest><file><name>'), 0xc3, 0x28, ...Buffer.from('</name></file></manifest>')])],
    ['Latin-1 bytes without a declaration', Buffer.from('<manifest><file><name>café</name></file></manifest>', 'latin1')],
    ['UTF-16 with its byte order mark', Buffer.from('\ufeff<manifest><file><name>a</name></file></manifest>', 'utf16le')],
    ['a declared ISO-8859-1', Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><manifest><file/></manifest>')],
    ['a declared windows-1252 in single quotes', Buffer.from("<?xml version='1.0' encoding='windows-1252'?><manifest><file/></manifest>")],
  ])('%s', (_label, bytes) => {
    expect(refusal(bytes).code).toBe('MANIFEST_INVALID_ENCODING');
  });

  test.each(['UTF-8', 'utf-8', 'utf8'])('a declared %s is accepted', (encoding) => {
    expect(parse(`<?xml version="1.0" encoding="${encoding}"?><manifest><file><name>a</name></file></manifest>`)).toHaveLength(1);
  });
});

describe('DTDs are refused before parsing (MANIFEST_DOCTYPE_FORBIDDEN)', () => {
  const BILLION_LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<manifest><file><name>a</name><summary>&lol4;</summary></file></manifest>`;

  test.each([
    ['a plain DOCTYPE', '<!DOCTYPE manifest><manifest><file><name>a</name></file></manifest>'],
    ['a lower-case doctype', '<!doctype manifest><manifest><file><name>a</name></file></manifest>'],
    ['a DOCTYPE after a BOM, the declaration, whitespace and a comment', '\ufeff<?xml version="1.0"?>\n  <!-- hi -->\n<!DOCTYPE manifest><manifest/>'],
    ['an external entity (XXE)', '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><manifest><file><name>&x;</name></file></manifest>'],
    ['billion laughs', BILLION_LAUGHS],
    [
      'a DOCTYPE inside an element (fast-xml-parser would read it there)',
      '<manifest><file><name>a</name><!DOCTYPE x [<!ENTITY e "boom">]><summary>&e;</summary></file></manifest>',
    ],
    ['a bare ENTITY declaration', '<manifest><!ENTITY e "x"><file><name>a</name></file></manifest>'],
  ])('%s', (_label, text) => {
    const error = refusal(text);
    expect(error.code).toBe('MANIFEST_DOCTYPE_FORBIDDEN');
    expect(error.message).toBe('The manifest may not contain a DOCTYPE or other markup declarations.');
  });

  test('the words <!DOCTYPE inside CDATA or a comment are only text', () => {
    const entry = parseFile('<!-- <!DOCTYPE x> --><name>a</name><description><![CDATA[<!DOCTYPE html> is HTML]]></description>');
    expect(entry.description).toBe('<!DOCTYPE html> is HTML');
  });

  test('an unterminated comment hiding a DOCTYPE is malformed, not parsed', () => {
    expect(refusal('<manifest><file><name>a</name></file></manifest><!-- <!DOCTYPE x>').code).toBe('MANIFEST_MALFORMED');
  });
});

describe('documents that are not one well-formed <manifest>', () => {
  test.each([
    ['an unclosed element', '<manifest><file><name>a</name></manifest>'],
    ['mismatched tags', '<manifest><file><name>a</summary></file></manifest>'],
    ['an empty document', ''],
    ['plain text', 'just some text'],
    ['two roots', '<manifest><file><name>a</name></file></manifest><manifest><file><name>b</name></file></manifest>'],
    ['a second, different root', '<manifest><file><name>a</name></file></manifest><other/>'],
    ['text after the root', '<manifest><file><name>a</name></file></manifest>trailing junk'],
    ['nesting 200 levels deep', `<manifest><file>${'<x>'.repeat(200)}${'</x>'.repeat(200)}</file></manifest>`],
  ])('%s is MANIFEST_MALFORMED', (_label, text) => {
    expect(refusal(text).code).toBe('MANIFEST_MALFORMED');
  });

  test("the parser's message and position are passed on", () => {
    const error = refusal('<manifest>\n<file><name>a</summary></file></manifest>');
    expect(error.message).toMatch(/^The manifest is not well-formed XML: .*'name'.*\(line 2, column \d+\)\.$/);
    expect(error.details).toMatchObject({ line: 2 });
  });

  test('a root other than <manifest> is MANIFEST_INVALID', () => {
    const error = refusal('<files><file><name>a</name></file></files>');
    expect(error).toMatchObject({ code: 'MANIFEST_INVALID', message: 'The root element must be <manifest>, not <files>.' });
  });

  test.each(['<manifest/>', '<manifest></manifest>', '<manifest>\n  <!-- nothing yet -->\n</manifest>'])('%j is MANIFEST_EMPTY', (text) => {
    expect(refusal(text).code).toBe('MANIFEST_EMPTY');
  });
});

describe('the shape of <file> elements (MANIFEST_INVALID, every problem listed)', () => {
  test.each([
    ['two names in one file (ambiguous: which file is meant?)', '<name>a</name><name>b</name>', 'Entry 1: <name> appears more than once.'],
    ['two summaries', '<name>a</name><summary>x</summary><summary>y</summary>', 'Entry 1: <summary> appears more than once.'],
    ['a misspelt element', '<name>a</name><sumary>x</sumary>', 'Entry 1: unknown <sumary> in <file>.'],
    ['markup inside a summary', '<name>a</name><summary>a <b>bold</b> move</summary>', 'Entry 1: <summary> must be plain text (put markup inside <![CDATA[ … ]]>).'],
    ['a <tag> inside <labels>', '<name>a</name><labels><tag>Type:A</tag></labels>', 'Entry 1: <labels> may only contain <label> elements.'],
    ['text inside <tags>', '<name>a</name><tags>Type:A</tags>', 'Entry 1: <tags> may only contain <tag> elements.'],
    ['markup inside a label', '<name>a</name><labels><label><b>x</b></label></labels>', 'Entry 1: <label> must be plain text.'],
    ['text directly in <file>', 'a.txt', 'Entry 1: <file> must contain elements such as <name> and <summary>, not text.'],
  ])('%s', (_label, inner, message) => {
    const error = refusal(`<manifest><file>${inner}</file></manifest>`);
    expect(error).toMatchObject({ code: 'MANIFEST_INVALID', message: `The manifest is not valid: ${message}`, details: { problems: [{ entry: 1, message }] } });
  });

  test('every shape problem of every entry is reported at once', () => {
    const error = refusal('<manifest><file><name>a</name></file><file><name>b</name><name>c</name></file><file><nam>d</nam><summary><i>x</i></summary></file></manifest>');
    expect(error.details!.problems).toEqual([
      { entry: 2, message: 'Entry 2: <name> appears more than once.' },
      { entry: 3, message: 'Entry 3: unknown <nam> in <file>.' },
      { entry: 3, message: 'Entry 3: <summary> must be plain text (put markup inside <![CDATA[ … ]]>).' },
    ]);
  });

  test('anything but <file> inside <manifest> is MANIFEST_INVALID', () => {
    expect(refusal('<manifest><file><name>a</name></file><version>2</version></manifest>')).toMatchObject({
      code: 'MANIFEST_INVALID',
      message: '<manifest> may only contain <file> elements (found <version>).',
    });
  });
});

describe('prototype pollution', () => {
  test.each([
    ['a __proto__ element', '<manifest><__proto__><polluted>yes</polluted></__proto__></manifest>'],
    ['a __proto__ element inside <file>', '<manifest><file><name>a</name><__proto__><polluted>yes</polluted></__proto__></file></manifest>'],
    ['a constructor element', '<manifest><file><constructor><prototype><polluted>yes</polluted></prototype></constructor></file></manifest>'],
    ['a __proto__ root', '<__proto__><polluted>yes</polluted></__proto__>'],
  ])('%s is a 422 and Object.prototype is untouched', (_label, text) => {
    const before = Object.getOwnPropertyNames(Object.prototype);
    expect(refusal(text).code).toBe('MANIFEST_INVALID');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(before);
  });

  test('an element named like an Object method is an unknown element, not a method', () => {
    const error = refusal('<manifest><file><name>a</name><toString>x</toString><hasOwnProperty>y</hasOwnProperty></file></manifest>');
    expect(error.code).toBe('MANIFEST_INVALID');
    expect(typeof ({} as { toString: unknown }).toString).toBe('function');
  });
});
