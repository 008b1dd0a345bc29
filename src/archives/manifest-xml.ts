/**
 * The XML layer of manifest parsing: bytes → text → one `<manifest>` element, as a plain tree of
 * strings and objects from fast-xml-parser. Everything a hostile document could do to the parser
 * (DTDs, entity expansion, reserved property names, deep nesting, coercion) is refused or
 * switched off here; the shape of a manifest is judged in manifest.ts.
 */
import { XMLParser, XMLValidator, type EntityDecoderOptions } from 'fast-xml-parser';
import { unprocessable } from '../errors.ts';

const ROOT = 'manifest';
// manifest > file > labels > label is four levels; anything much deeper is an attack.
const MAX_NESTED_TAGS = 10;
const REPEATABLE = new Set(['manifest.file', 'manifest.file.labels', 'manifest.file.tags', 'manifest.file.labels.label', 'manifest.file.tags.tag']);

/** Returns the content of the single `<manifest>` root: '' when empty, else an object. */
export function parseManifestXml(xml: Buffer): unknown {
  const text = decodeText(xml);
  if (hasMarkupDeclaration(text)) {
    throw manifestError('MANIFEST_DOCTYPE_FORBIDDEN', 'The manifest may not contain a DOCTYPE or other markup declarations.');
  }
  const validation = XMLValidator.validate(text);
  if (validation !== true) {
    const { msg, line, col } = validation.err;
    throw manifestError('MANIFEST_MALFORMED', `The manifest is not well-formed XML: ${msg} (line ${line}, column ${col}).`, { line, column: col });
  }
  return singleRoot(parseTree(text));
}

function decodeText(xml: Buffer): string {
  let text: string;
  try {
    // fatal: a wrong byte is an error rather than a silent U+FFFD; the UTF-8 BOM is dropped.
    text = new TextDecoder('utf-8', { fatal: true }).decode(xml);
  } catch {
    throw manifestError('MANIFEST_INVALID_ENCODING', 'The manifest is not valid UTF-8 text.');
  }
  const declared = /^\s*<\?xml\s[^>]*?\bencoding\s*=\s*["']([^"']*)["']/.exec(text)?.[1];
  if (declared !== undefined && !/^utf-?8$/i.test(declared)) {
    const message = `The manifest declares the encoding ${declared}; only UTF-8 is accepted.`;
    throw manifestError('MANIFEST_INVALID_ENCODING', message, { encoding: declared });
  }
  return text;
}

/**
 * True when the text has a `<!…>` that is neither a comment nor CDATA: a DOCTYPE, ENTITY or
 * ELEMENT declaration, wherever it is (fast-xml-parser reads a DOCTYPE even inside an element).
 * A manifest never needs one, and refusing them removes XXE and entity expansion at once.
 * Written as an indexOf loop: a regex over unterminated `<!--` runs is quadratic.
 */
function hasMarkupDeclaration(text: string): boolean {
  let at = text.indexOf('<!');
  while (at !== -1) {
    const skipTo = text.startsWith('<!--', at) ? '-->' : text.startsWith('<![CDATA[', at) ? ']]>' : undefined;
    if (skipTo === undefined) return true;
    const end = text.indexOf(skipTo, at + 4);
    if (end === -1) return false;
    at = text.indexOf('<!', end + skipTo.length);
  }
  return false;
}

function parseTree(text: string): Record<string, unknown> {
  const parser = new XMLParser({
    ignoreAttributes: true,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    processEntities: true,
    htmlEntities: false,
    entityDecoder: xmlEntityDecoder,
    ignoreDeclaration: true,
    ignorePiTags: true,
    maxNestedTags: MAX_NESTED_TAGS,
    isArray: (_name, jPath) => REPEATABLE.has(String(jPath)),
  });
  try {
    return parser.parse(text) as Record<string, unknown>;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // fast-xml-parser refuses `__proto__`, `constructor` and similar names as element names.
    if (/reserved|SECURITY/i.test(message)) {
      throw manifestError('MANIFEST_INVALID', 'The manifest uses a reserved name (such as __proto__ or constructor) as an element name.');
    }
    throw manifestError('MANIFEST_MALFORMED', `The manifest could not be read: ${message}`);
  }
}

// Two roots and a wrong root pass the validator; text after a closing root tag does not.
function singleRoot(tree: Record<string, unknown>): unknown {
  const roots = Object.keys(tree);
  if (roots.length !== 1 || Array.isArray(tree[roots[0]!])) {
    throw manifestError('MANIFEST_MALFORMED', 'The manifest must have exactly one root element, <manifest>.');
  }
  if (roots[0] !== ROOT) {
    throw manifestError('MANIFEST_INVALID', `The root element must be <manifest>, not <${roots[0]}>.`, { root: roots[0] });
  }
  return tree[ROOT];
}

const XML_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * The five XML entities and character references, decoded in one pass so that `&amp;lt;` stays
 * `&lt;`. fast-xml-parser's own decoder leaves `&#233;` undecoded unless HTML entities are on,
 * which would also accept `&eacute;` (not XML). References to characters XML forbids stay as
 * written.
 */
const xmlEntityDecoder: EntityDecoderOptions = {
  setExternalEntities: () => undefined,
  addInputEntities: () => undefined,
  reset: () => undefined,
  setXmlVersion: () => undefined,
  decode: (text) =>
    text.replace(/&(?:#x([0-9a-fA-F]{1,6})|#([0-9]{1,7})|(lt|gt|amp|quot|apos));/g, (whole, hex?: string, dec?: string, named?: string) => {
      if (named) return XML_ENTITIES[named]!;
      const code = hex ? parseInt(hex, 16) : Number(dec);
      return isXmlChar(code) ? String.fromCodePoint(code) : whole;
    }),
};

function isXmlChar(code: number): boolean {
  if (code === 0x9 || code === 0xa || code === 0xd) return true;
  return (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}

export function manifestError(code: string, message: string, details: Record<string, unknown> = {}) {
  return unprocessable(message, { code, details });
}
