import path from 'node:path';

/**
 * Resolves a server-made relative key inside root, refusing anything that would land outside it
 * (absolute paths, `..`, NUL) — a second fence behind opaque keys, never the first.
 */
export function resolveInside(root: string, relative: string): string {
  if (!relative || relative.includes('\0') || path.isAbsolute(relative)) throw new Error(`unsafe path: ${JSON.stringify(relative)}`);
  const base = path.resolve(root);
  const full = path.resolve(base, relative);
  if (full === base || !full.startsWith(base + path.sep)) throw new Error(`path escapes its root: ${JSON.stringify(relative)}`);
  return full;
}
