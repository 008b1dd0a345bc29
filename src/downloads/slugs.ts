import slugify from '@sindresorhus/slugify';
import { SLUG_PATTERN } from './download-schemas.ts';

const MAX_BASE = 80;

/** `My Tool 1.2 (Linux)` → `my-tool-1-2-linux`; never empty. */
export function slugBase(title: string, fallback = 'download'): string {
  const base = slugify(title, { decamelize: false }).slice(0, MAX_BASE).replace(/-+$/, '');
  return SLUG_PATTERN.test(base) ? base : fallback;
}

/** The base itself when free, else the first free `base-N` (N ≥ 2). */
export function firstFreeSlug(base: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  if (!used.has(base)) return base;
  for (let n = 2; ; n++) if (!used.has(`${base}-${n}`)) return `${base}-${n}`;
}
