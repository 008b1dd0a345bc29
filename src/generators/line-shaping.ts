/**
 * Shapes one line of text with the bundled font, right-to-left parts included: the Unicode
 * bidirectional algorithm (bidi-js) splits the line into runs of one direction, fontkit shapes
 * each run (Arabic joining, kerning, ligatures) and the runs are put in display order. Without
 * this, a Hebrew or Arabic name in a Latin sentence would be drawn backwards and unjoined.
 */
import { createRequire } from 'node:module';
import type { Bidi } from 'bidi-js';
import type { GlyphRun } from 'fontkit';
import type { BundledFont } from './font-catalog.ts';

export type Direction = 'ltr' | 'rtl';

export interface ShapedLine {
  /** In display order, left to right; each run's glyphs are in display order too. */
  runs: GlyphRun[];
  /** Total advance in font units. */
  advance: number;
}

// bidi-js is CommonJS whose module.exports is the factory, but its types declare an ES default
// export, which NodeNext resolution would then look for in the wrong place.
const bidi = (createRequire(import.meta.url)('bidi-js') as () => Bidi)();

/** The paragraph's direction, from its first letter with a strong direction (rules P2, P3). */
export function paragraphDirection(paragraph: string): Direction {
  const level = bidi.getEmbeddingLevels(paragraph).paragraphs[0]?.level ?? 0;
  return level % 2 ? 'rtl' : 'ltr';
}

export function shapeLine(font: BundledFont, text: string, direction: Direction): ShapedLine {
  if (!text) return { runs: [], advance: 0 };
  const { levels } = bidi.getEmbeddingLevels(text, direction);
  const mirrored = bidi.getMirroredCharactersMap(text, levels);
  // Brackets in right-to-left runs are drawn mirrored, so "(" still opens the parenthesis.
  const chars = mirrored.size ? text.split('').map((c, i) => mirrored.get(i) ?? c).join('') : text;

  const pieces: Array<{ text: string; level: number }> = [];
  let start = 0;
  let script = scriptOf(chars, 0);
  for (let i = 1; i <= chars.length; i++) {
    const next = i < chars.length ? scriptOf(chars, i) : undefined;
    // fontkit picks one shaper per run from its first letter: Hebrew followed by Arabic in one
    // right-to-left run would leave the Arabic unjoined, so a change of script starts a run too.
    const scriptChanges = next !== undefined && script !== undefined && next !== script;
    if (i === chars.length || levels[i] !== levels[start] || scriptChanges) {
      pieces.push({ text: chars.slice(start, i), level: levels[start]! });
      start = i;
      script = next;
    } else {
      script ??= next;
    }
  }

  const runs = displayOrder(pieces).map((piece) => font.font.layout(piece.text, undefined, undefined, undefined, piece.level % 2 ? 'rtl' : 'ltr'));
  return { runs, advance: runs.reduce((sum, run) => sum + run.advanceWidth, 0) };
}

// Right-to-left scripts of the bundled fonts that need their own shaper. Left-to-right scripts
// never share a run with them (their bidi levels differ) and all shape alike, so they, spaces,
// digits and punctuation are "no script" and belong to the run they are in.
const ARABIC = /^\p{Script=Arabic}/u;
const HEBREW = /^\p{Script=Hebrew}/u;

function scriptOf(text: string, index: number): string | undefined {
  // Everything below U+0590 is Latin, Greek, Cyrillic, Armenian or common: the fast path.
  if (text.charCodeAt(index) < 0x0590) return undefined;
  const char = text.slice(index, index + 2);
  return ARABIC.test(char) ? 'Arabic' : HEBREW.test(char) ? 'Hebrew' : undefined;
}

/** Rule L2: from the highest level down to the lowest odd one, reverse every stretch at or above it. */
function displayOrder<T extends { level: number }>(pieces: T[]): T[] {
  const ordered = [...pieces];
  const highest = Math.max(...ordered.map((p) => p.level));
  const lowestOdd = Math.min(...ordered.map((p) => (p.level % 2 ? p.level : p.level + 1)));
  for (let level = highest; level >= lowestOdd; level--) {
    for (let i = 0; i < ordered.length; i++) {
      if (ordered[i]!.level < level) continue;
      let end = i;
      while (end + 1 < ordered.length && ordered[end + 1]!.level >= level) end++;
      ordered.splice(i, end - i + 1, ...ordered.slice(i, end + 1).reverse());
      i = end;
    }
  }
  return ordered;
}
