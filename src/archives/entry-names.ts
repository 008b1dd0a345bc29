/**
 * Names of files inside an archive, shared by the ZIP reader and the manifest check so that an
 * entry name and a manifest `<name>` are judged and compared by the same rules. A name is only
 * ever data: it is never joined to a filesystem path (extracted files get opaque hex names).
 */
import path from 'node:path';

export const MANIFEST_NAME = 'manifest.xml';

// C0/C1 controls (NUL included) break logs, headers and terminals; bidi embeddings, overrides
// and isolates make `txt.exe` look like `exe.txt`; U+FFFD means the name bytes were not valid
// UTF-8, so the name shown is not the name stored.
const FORBIDDEN_CHARS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ufffd]/u;

/** Why a name may not be used as a path inside the archive, or undefined when it is safe. */
export function unsafeNameReason(name: string): string | undefined {
  if (FORBIDDEN_CHARS.test(name)) return 'it contains control, bidirectional or undecodable characters';
  if (name.includes('\\')) return 'it contains a backslash';
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) return 'it is an absolute path';
  if (name.split('/').includes('..')) return 'it contains a ".." path segment';
  const normal = path.posix.normalize(name);
  if (normal === '.' || normal === './' || name.trim() === '') return 'it names no file';
  return undefined;
}

/**
 * The canonical form used to compare names: `./a//b` and `a/./b` are `a/b`, and composed and
 * decomposed accents are the same name (macOS writes NFD, most editors NFC).
 */
export function normalizeEntryName(name: string): string {
  return path.posix.normalize(name).normalize('NFC');
}

/** Two names with the same key would overwrite each other on a case-insensitive filesystem. */
export function collisionKey(name: string): string {
  return normalizeEntryName(name).toLowerCase();
}

/** The lower-cased last extension without its dot (`foo.tar.gz` → `gz`), '' when there is none. */
export function lastExtension(name: string): string {
  return path.posix.extname(path.posix.basename(name)).slice(1).toLowerCase();
}

/** An extension list from settings: `.TAR.GZ` and `gz` both mean `gz`. */
export function normalizeExtensionList(extensions: readonly string[]): Set<string> {
  const result = new Set<string>();
  for (const raw of extensions) {
    const last = raw.trim().toLowerCase().split('.').pop();
    if (last) result.add(last);
  }
  return result;
}

/** A name safe to print in a message: invisible and reordering characters shown as \u{…}. */
export function printableName(name: string): string {
  return name.replace(new RegExp(FORBIDDEN_CHARS.source, 'gu'), (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}
