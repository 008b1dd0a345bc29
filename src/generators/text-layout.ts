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
    for (const text of wrapParagraph(paragraph, request.width, measure, limit - wrapped.length)) wrapped.push({ text, direction });
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

/** Greedy wrapping of one paragraph into at most `limit` lines. */
export function wrapParagraph(paragraph: string, width: number, measure: (text: string) => number, limit: number): string[] {
  const lines: string[] = [];
  const tokens = paragraph.match(/ +|[^ ]+/g) ?? [];
  let line = '';
  // Spaces wait until a word follows them on the same line: at a wrap they are dropped, at the
  // start of a paragraph they are kept as indentation.
  let gap = '';
  for (const token of tokens) {
    if (lines.length >= limit) return lines.slice(0, limit);
    if (token.startsWith(' ')) {
      gap += token;
      continue;
    }
    const candidate = line + gap + token;
    if (measure(candidate) <= width) {
      line = candidate;
    } else {
      if (line) lines.push(line);
      line = breakWord(token, width, measure, lines);
    }
    gap = '';
  }
  lines.push(line);
  return lines.slice(0, limit);
}

/** Puts the full-width pieces of `word` into `lines` and returns the rest, which starts the next line. */
function breakWord(word: string, width: number, measure: (text: string) => number, lines: string[]): string {
  if (measure(word) <= width) return word;
  let piece = '';
  for (const { segment } of graphemes.segment(word)) {
    // A single character wider than the box still goes on a line of its own, clipped by the box.
    if (piece && measure(piece + segment) > width) {
      lines.push(piece);
      piece = '';
    }
    piece += segment;
  }
  return piece;
}

/** The line shortened until it fits with "…" after it. */
function withEllipsis(line: string, width: number, measure: (text: string) => number): string {
  const parts = [...graphemes.segment(line.trimEnd())].map((s) => s.segment);
  while (parts.length > 0 && measure(parts.join('').trimEnd() + ELLIPSIS) > width) parts.pop();
  return parts.join('').trimEnd() + ELLIPSIS;
}
