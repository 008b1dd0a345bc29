import path from 'node:path';
import { BIDI_CONTROLS, cleanLine } from './text.ts';

const MAX_NAME_LENGTH = 200;

/**
 * The name a file is served under: the last path piece only, without controls, bidi overrides,
 * quotes or separators (they break Content-Disposition or spoof the extension). Never a path.
 */
export function safeFileName(name: string | null | undefined, fallback = 'download'): string {
  const base = cleanLine(String(name ?? ''))
    .split(/[/\\]/)
    .pop()!
    .replace(BIDI_CONTROLS, '')
    .replace(/["*:<>?|\u0000]/g, '')
    .replace(/^[.\s]+|[.\s]+$/g, '');
  if (!base) return fallback;
  if (base.length <= MAX_NAME_LENGTH) return base;
  const ext = path.extname(base).slice(0, 20);
  return base.slice(0, MAX_NAME_LENGTH - ext.length) + ext;
}

/** Lower-cased extension without the dot ('' when none). */
export function extensionOf(name: string): string {
  return path.extname(name).slice(1).toLowerCase();
}
