import { describe, expect, test } from 'vitest';
import { lineHeightFor, loadFont } from '../../../src/generators/font-catalog.ts';
import { paragraphDirection, shapeLine } from '../../../src/generators/line-shaping.ts';
import { drawTextSvg } from '../../../src/generators/text-drawing.ts';
import { ELLIPSIS, layoutText, wrapParagraph, type LayoutRequest } from '../../../src/generators/text-layout.ts';

const BASE: LayoutRequest = { text: '', font: 'dejavu-sans-mono', fontSize: 20, width: 1000, height: 1000 };
// DejaVu Sans Mono advances every character by 1233/2048 em: about 12.04 px at 20 px.
const CHAR = (1233 / 2048) * 20;

function lines(request: Partial<LayoutRequest>): string[] {
  return layoutText({ ...BASE, ...request }).lines.map((line) => line.text);
}

/** Width in pixels for `n` monospaced characters, plus a hair. */
function chars(n: number): number {
  return Math.ceil(n * CHAR) + 1;
}

describe('wrapping', () => {
  test('words wrap at spaces inside the width', () => {
    expect(lines({ text: 'aaa bbb ccc ddd', width: chars(7) })).toEqual(['aaa bbb', 'ccc ddd']);
  });

  test('a narrower box gives more lines', () => {
    const text = 'The quick brown fox jumps over the lazy dog';
    expect(lines({ text, width: chars(10) }).length).toBeGreaterThan(lines({ text, width: chars(20) }).length);
  });

  test('explicit newlines start new lines, and empty lines are kept', () => {
    expect(lines({ text: 'one\ntwo\n\nfour' })).toEqual(['one', 'two', '', 'four']);
  });

  test('spaces at a wrap are dropped; indentation at the start of a paragraph is kept', () => {
    expect(lines({ text: '  aaa    bbb', width: chars(6) })).toEqual(['  aaa', 'bbb']);
  });

  test('a word wider than the box is broken between characters, starting on the first line', () => {
    expect(lines({ text: 'abcdefghij', width: chars(4) })).toEqual(['abcd', 'efgh', 'ij']);
    expect(lines({ text: 'ab abcdefghij', width: chars(4) })).toEqual(['ab', 'abcd', 'efgh', 'ij']);
  });

  test('a long word is not split inside a character made of several code points', () => {
    const family = '👩\u200d👩\u200d👧';
    const wrapped = wrapParagraph(family.repeat(3), 1, () => 2, 10);
    expect(wrapped).toEqual([family, family, family]);
  });

  test('wrapping stops at the limit instead of laying out the whole text', () => {
    let measured = 0;
    const wrapped = wrapParagraph('word '.repeat(10_000), 8, (text) => (measured++, text.length), 3);
    expect(wrapped).toEqual(['word', 'word', 'word']);
    expect(measured).toBeLessThan(20);
  });
});

describe('height', () => {
  test('only whole lines that fit the height are kept, the last one cut to end with an ellipsis', () => {
    const height = lineHeightFor('dejavu-sans-mono', 20) * 2;
    const layout = layoutText({ ...BASE, text: 'aaa bbb ccc ddd eee', width: chars(7), height });
    expect(layout.lines.map((line) => line.text)).toEqual(['aaa bbb', `ccc dd${ELLIPSIS}`]);
    expect(layout.truncated).toBe(true);
  });

  test('the ellipsis is added even when the cut falls at a paragraph end', () => {
    const height = lineHeightFor('dejavu-sans-mono', 20);
    expect(lines({ text: 'first\nsecond', height })).toEqual([`first${ELLIPSIS}`]);
  });

  test('text that fits exactly is not cut', () => {
    const height = lineHeightFor('dejavu-sans-mono', 20) * 2;
    const layout = layoutText({ ...BASE, text: 'one\ntwo', height });
    expect([layout.lines.map((l) => l.text), layout.truncated]).toEqual([['one', 'two'], false]);
  });

  test('every line lies inside the box: baselines step by the line height, widths within the width', () => {
    const layout = layoutText({ ...BASE, text: 'lorem ipsum dolor sit amet '.repeat(40), font: 'dejavu-serif', width: 300, height: 200 });
    const font = loadFont('dejavu-serif');
    const descent = ((font.lineAdvance - font.ascent) * 20) / font.unitsPerEm;
    for (const [index, line] of layout.lines.entries()) {
      expect(line.width).toBeLessThanOrEqual(300);
      expect(line.baseline).toBeCloseTo(index * layout.lineHeight + layout.lineHeight - descent, 6);
      expect(line.baseline + descent).toBeLessThanOrEqual(200 + 1e-9);
    }
  });
});

describe('alignment', () => {
  test.each([
    ['left', 0],
    ['center', (chars(10) - 2 * CHAR) / 2],
    ['right', chars(10) - 2 * CHAR],
  ] as const)('%s puts the line at x = %d', (align, x) => {
    const [line] = layoutText({ ...BASE, text: 'ab', width: chars(10), align }).lines;
    expect(line!.x).toBeCloseTo(x, 6);
  });
});

describe('right-to-left text', () => {
  test('a paragraph takes the direction of its first letter', () => {
    expect([paragraphDirection('שלום world'), paragraphDirection('hello שלום'), paragraphDirection('123 !')]).toEqual(['rtl', 'ltr', 'ltr']);
  });

  test('a Hebrew word inside Latin text is drawn right to left', () => {
    const font = loadFont('dejavu-sans');
    const shaped = shapeLine(font, 'ab אב', 'ltr');
    const glyphs = shaped.runs.flatMap((run) => run.glyphs.map((glyph) => glyph.codePoints[0]));
    expect(glyphs).toEqual([0x61, 0x62, 0x20, 0x05d1, 0x05d0]);
  });

  test('Arabic letters are joined: the shaped word differs from its letters shaped one by one', () => {
    const font = loadFont('dejavu-sans');
    const joined = shapeLine(font, 'مرحبا', 'rtl').runs.flatMap((run) => run.glyphs.map((g) => g.id));
    const isolated = [...'مرحبا'].reverse().flatMap((letter) => shapeLine(font, letter, 'rtl').runs.flatMap((run) => run.glyphs.map((g) => g.id)));
    expect(joined).toHaveLength(isolated.length);
    expect(joined).not.toEqual(isolated);
  });
});

describe('drawing', () => {
  test.each(['<b>x</b>', '"><script>alert(1)</script>', 'a & b', ']]>'])('the SVG for %j holds glyph outlines and no text', (text) => {
    const layout = layoutText({ ...BASE, text });
    const svg = drawTextSvg(layout, { font: BASE.font, fontSize: 20, colour: '#112233', width: 1000, height: 1000 }).toString();
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="1000" height="1000" viewBox="0 0 1000 1000"><path fill="#112233" d="[MLQCZ0-9 .-]+"\/><\/svg>$/);
  });

  test('a colour that was not validated never reaches the SVG', () => {
    const layout = layoutText({ ...BASE, text: 'x' });
    expect(() => drawTextSvg(layout, { font: BASE.font, fontSize: 20, colour: 'red"/><image href="x', width: 10, height: 10 })).toThrow();
  });
});
