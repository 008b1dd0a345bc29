/**
 * Breaks text into lines that fit a box, measured with the bundled font's own metrics (kerning
 * and ligatures included), so the drawing in text-drawing.ts puts every glyph exactly where the
 * layout decided: nothing is re-wrapped or re-measured by another engine.
 *
 * Rules: explicit newlines start new lines; words wrap at spaces; a word wider than the box is
 * broken between characters (starting on the line it would have started on, so no empty line);
 * text that does not fit the box's height ends with "…" on the last line that fits.
 */
import type { GlyphRun } from 'fontkit';
import { loadFont, type FontName } from './font-catalog.ts';
import { paragraphDirection, shapeLine, type Direction, type ShapedLine } from './line-shaping.ts';

export const TEXT_ALIGNS = ['left', 'center', 'right'] as const;
export type TextAlign = (typeof TEXT_ALIGNS)[number];

export const ELLIPSIS = '\u2026';

export interface LayoutRequest {
  text: string;
  font: FontName;
  fontSize: number;
  width: number;
  height: number;
  align?: TextAlign;
}

export interface LaidOutLine {
  text: string;
  /** Left edge of the line's pen position, in pixels from the box's left. */
  x: number;
  /** Baseline, in pixels from the box's top. */
  baseline: number;
  /** Advance width in pixels. */
  width: number;
  /** Shaped runs in display order (see line-shaping.ts). */
  runs: GlyphRun[];
}

export interface TextLayout {
  lines: LaidOutLine[];
  lineHeight: number;
  /** Some text did not fit the height and was replaced by the ellipsis. */
  truncated: boolean;
}

const graphemes = new Intl.Segmenter('und', { granularity: 'grapheme' });

export function layoutText(request: LayoutRequest): TextLayout {
  const font = loadFont(request.font);
  const scale = request.fontSize / font.unitsPerEm;
  const lineHeight = font.lineAdvance * scale;
  // A hair of tolerance so a box sized exactly to N lines is not refused by float rounding.
  const maxLines = Math.floor(request.height / lineHeight + 1e-9);
  const shaped = new Map<string, ShapedLine>();
  const shape = (text: string, direction: Direction): ShapedLine => {
    const key = `${direction}:${text}`;
    let line = shaped.get(key);
    if (!line) {
      line = shapeLine(font, text, direction);
      shaped.set(key, line);
    }
    return line;
  };

  // One more line than fits is enough to know the text was cut; a 2000-character text in a small
  // box is not laid out to its end.
  const limit = maxLines + 1;
  const wrapped: Array<{ text: string; direction: Direction }> = [];
  for (const paragraph of request.text.split('\n')) {
    if (wrapped.length >= limit) break;
    const direction = paragraphDirection(paragraph);
    const measure = (text: string) => shape(text, direction).advance * scale;
    for (const text of wrapParagraph(paragraph, request.width, measure, limit - wrapped.length, request.fontSize)) wrapped.push({ text, direction });
  }
  const truncated = wrapped.length > maxLines;
  const kept = wrapped.slice(0, maxLines);
  const last = kept[kept.length - 1];
  if (truncated && last) last.text = withEllipsis(last.text, request.width, (text) => shape(text, last.direction).advance * scale);

  const ascent = font.ascent * scale;
  const lines = kept.map(({ text, direction }, index): LaidOutLine => {
    const trimmed = text.trimEnd();
    const line = shape(trimmed, direction);
    const width = line.advance * scale;
    const free = Math.max(0, request.width - width);
    const x = request.align === 'center' ? free / 2 : request.align === 'right' ? free : 0;
    return { text: trimmed, x, baseline: index * lineHeight + ascent, width, runs: line.runs };
  });
  return { lines, lineHeight, truncated };
}

/**
 * Greedy wrapping of one paragraph into at most `limit` lines. A line grows by adding each word's
 * own width, which is exact except for kerning or joining across the seam; only within `slack`
 * pixels of the edge, where that could matter, is the whole line measured again. Measuring every
 * candidate line in full made a 2000-character text in a wide box take seconds.
 */
export function wrapParagraph(paragraph: string, width: number, measure: (text: string) => number, limit: number, slack = 0): string[] {
  const lines: string[] = [];
  const tokens = paragraph.match(/ +|[^ ]+/g) ?? [];
  let line = '';
  let lineWidth = 0;
  // Spaces wait until a word follows them on the same line: at a wrap they are dropped, at the
  // start of a paragraph they are kept as indentation.
  let gap = '';
  for (const token of tokens) {
    if (lines.length >= limit) return lines;
    if (token.startsWith(' ')) {
      gap += token;
      continue;
    }
    const candidate = line + gap + token;
    let candidateWidth = lineWidth + measure(gap + token);
    if (line && candidateWidth > width - slack) candidateWidth = measure(candidate);
    if (candidateWidth <= width) {
      line = candidate;
      lineWidth = candidateWidth;
    } else {
      if (line) lines.push(line);
      [line, lineWidth] = breakWord(token, width, measure, lines, limit);
    }
    gap = '';
  }
  if (lines.length < limit) lines.push(line);
  return lines;
}

/**
 * Puts the full-width pieces of `word` into `lines` and returns the rest (and its width), which
 * starts the next line. Each piece is found by a galloping search over its length, so a word of
 * thousands of characters costs a few measurements per line, not one per character.
 */
function breakWord(word: string, width: number, measure: (text: string) => number, lines: string[], limit: number): [string, number] {
  const whole = measure(word);
  if (whole <= width) return [word, whole];
  const parts = Array.from(graphemes.segment(word), (s) => s.segment);
  let start = 0;
  for (;;) {
    const available = parts.length - start;
    const fits = (n: number) => measure(parts.slice(start, start + n).join('')) <= width;
    // `low` graphemes fit (a single one too wide still gets a line, clipped by the box); `high` do not.
    let low = 1;
    let high = 2;
    while (high <= available && fits(high)) {
      low = high;
      high *= 2;
    }
    high = Math.min(high, available + 1);
    while (high - low > 1) {
      const middle = (low + high) >> 1;
      if (fits(middle)) low = middle;
      else high = middle;
    }
    const piece = parts.slice(start, start + low).join('');
    start += low;
    if (start >= parts.length) return [piece, measure(piece)];
    lines.push(piece);
    if (lines.length >= limit) return ['', 0];
  }
}

/** The line shortened until it fits with "…" after it. */
function withEllipsis(line: string, width: number, measure: (text: string) => number): string {
  const parts = [...graphemes.segment(line.trimEnd())].map((s) => s.segment);
  while (parts.length > 0 && measure(parts.join('').trimEnd() + ELLIPSIS) > width) parts.pop();
  return parts.join('').trimEnd() + ELLIPSIS;
}
