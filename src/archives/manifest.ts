/**
 * manifest.xml of an archive import (InDefero's format): a `<manifest>` of `<file>` elements,
 * each with `<name>` (path inside the archive), `<summary>` (the title), optional `<description>`
 * and `<replaces>`, and labels as `<labels><label>` or, as the seed's DTD spells it,
 * `<tags><tag>`. parseManifest judges the document; checkManifest (manifest-check.ts) judges
 * every entry and reports every problem at once.
 */
import { normalizeEntryName, unsafeNameReason } from './entry-names.ts';
import { manifestError, parseManifestXml } from './manifest-xml.ts';

export { checkManifest, DEFAULT_MANIFEST_RULES, MAX_DESCRIPTION_LENGTH, MAX_SUMMARY_LENGTH } from './manifest-check.ts';

export interface ManifestEntry {
  /** 1-based position in the manifest, as people count. */
  index: number;
  /** Canonical path (`./a//b` → `a/b`) when the name is safe; exactly as written when it is not. */
  name: string;
  summary: string;
  description: string;
  replaces?: string;
  /** Raw label texts, trimmed, empties dropped; parsed and judged by checkManifest. */
  labels: string[];
}

export interface ManifestRules {
  maxLabels: number;
  oneMaxClasses: readonly string[];
  /** Lower-case extensions without dot; null or empty allows every extension. */
  allowedExtensions: readonly string[] | null;
}

export interface ManifestProblem {
  entry: number;
  name?: string;
  code: string;
  message: string;
}

type TextField = 'name' | 'summary' | 'description' | 'replaces';
const TEXT_FIELDS: readonly TextField[] = ['name', 'summary', 'description', 'replaces'];
const LABEL_CONTAINERS: Readonly<Record<string, string>> = { labels: 'label', tags: 'tag' };

/** A problem with the document's shape, found before any entry can be judged. */
interface ShapeProblem {
  entry: number;
  message: string;
}

/** Parses the manifest bytes; throws a 422 AppError for anything wrong with the document itself. */
export function parseManifest(xml: Buffer): ManifestEntry[] {
  const files = fileElements(parseManifestXml(xml));
  const problems: ShapeProblem[] = [];
  const entries = files.map((file, i) => readFile(file, i + 1, problems));
  if (problems.length > 0) {
    const message = `The manifest is not valid: ${problems.map((p) => p.message).join(' ')}`;
    throw manifestError('MANIFEST_INVALID', message, { problems });
  }
  return entries;
}

function fileElements(root: unknown): unknown[] {
  if (!isRecord(root) || !Object.hasOwn(root, 'file')) {
    throw manifestError('MANIFEST_EMPTY', 'The manifest lists no files: add a <file> element for each file to import.');
  }
  const others = Object.keys(root).filter((key) => key !== 'file');
  if (others.length > 0) {
    throw manifestError('MANIFEST_INVALID', `<manifest> may only contain <file> elements (found ${describeKeys(others)}).`);
  }
  return root.file as unknown[];
}

function readFile(file: unknown, index: number, problems: ShapeProblem[]): ManifestEntry {
  const element = file === '' ? {} : file;
  if (!isRecord(element)) {
    problems.push({ entry: index, message: `Entry ${index}: <file> must contain elements such as <name> and <summary>, not text.` });
    return { index, name: '', summary: '', description: '', labels: [] };
  }
  const unknown = Object.keys(element).filter((key) => !TEXT_FIELDS.includes(key as TextField) && !Object.hasOwn(LABEL_CONTAINERS, key));
  if (unknown.length > 0) problems.push({ entry: index, message: `Entry ${index}: unknown ${describeKeys(unknown)} in <file>.` });
  const text = (field: TextField) => readText(element, field, index, problems);
  const rawName = text('name');
  const entry: ManifestEntry = {
    index,
    name: unsafeNameReason(rawName) ? rawName : normalizeEntryName(rawName),
    summary: text('summary'),
    description: text('description'),
    labels: readLabels(element, index, problems),
  };
  const replaces = text('replaces');
  if (replaces) entry.replaces = replaces;
  return entry;
}

function readText(element: Record<string, unknown>, field: TextField, index: number, problems: ShapeProblem[]): string {
  if (!Object.hasOwn(element, field)) return '';
  const value = element[field];
  if (Array.isArray(value)) {
    // Two names (or summaries) in one <file> is ambiguous: guessing which one was meant could
    // import the wrong file, so the document is refused.
    problems.push({ entry: index, message: `Entry ${index}: <${field}> appears more than once.` });
    return '';
  }
  if (typeof value !== 'string') {
    problems.push({ entry: index, message: `Entry ${index}: <${field}> must be plain text (put markup inside <![CDATA[ … ]]>).` });
    return '';
  }
  return value.trim();
}

function readLabels(element: Record<string, unknown>, index: number, problems: ShapeProblem[]): string[] {
  const labels: string[] = [];
  for (const [container, child] of Object.entries(LABEL_CONTAINERS)) {
    if (!Object.hasOwn(element, container)) continue;
    for (const block of element[container] as unknown[]) {
      if (block === '') continue;
      const others = isRecord(block) ? Object.keys(block).filter((key) => key !== child) : ['#text'];
      if (others.length > 0 || !isRecord(block)) {
        problems.push({ entry: index, message: `Entry ${index}: <${container}> may only contain <${child}> elements.` });
        continue;
      }
      for (const label of block[child] as unknown[]) {
        if (typeof label !== 'string') {
          problems.push({ entry: index, message: `Entry ${index}: <${child}> must be plain text.` });
        } else if (label.trim()) {
          labels.push(label.trim());
        }
      }
    }
  }
  return labels;
}

function describeKeys(keys: string[]): string {
  return keys.map((key) => (key === '#text' ? 'text' : `<${key}>`)).join(', ');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
