/**
 * Turns a text layout into an SVG of glyph outlines: one <path> whose coordinates are computed
 * here from the bundled font, sized to the text box.
 *
 * Why outlines and not sharp's text input (Pango): Pango's image is cropped to the ink and does
 * not say where the baseline was, so lines we broke ourselves cannot be placed exactly; and
 * fontconfig may pick the machine's own copy of a font with the same family name instead of the
 * bundled file. Outlines come only from the bundled file, and the SVG holds numbers, never the
 * user's characters, so no markup in the text can be interpreted. The SVG's own size clips
 * anything that overhangs the box.
 */
import type { FontName } from './font-catalog.ts';
import { loadFont } from './font-catalog.ts';
import type { TextLayout } from './text-layout.ts';

const COMMAND_LETTERS: Record<string, string> = {
  moveTo: 'M',
  lineTo: 'L',
  quadraticCurveTo: 'Q',
  bezierCurveTo: 'C',
  closePath: 'Z',
};

export interface TextDrawing {
  font: FontName;
  fontSize: number;
  /** `#rrggbb`, already validated. */
  colour: string;
  width: number;
  height: number;
}

export function drawTextSvg(layout: TextLayout, drawing: TextDrawing): Buffer {
  if (!/^#[0-9a-f]{6}$/i.test(drawing.colour)) throw new Error(`unvalidated colour reached the drawing: ${drawing.colour}`);
  const font = loadFont(drawing.font);
  const scale = drawing.fontSize / font.unitsPerEm;
  const data: string[] = [];
  for (const line of layout.lines) {
    let penX = line.x;
    for (const run of line.runs) {
      run.glyphs.forEach((glyph, index) => {
        const position = run.positions[index]!;
        const originX = penX + position.xOffset * scale;
        const originY = line.baseline - position.yOffset * scale;
        for (const { command, args } of font.outline(glyph)) {
          let segment = COMMAND_LETTERS[command] ?? '';
          for (let i = 0; i + 1 < args.length; i += 2) {
            // Font units grow upwards, SVG pixels downwards.
            segment += `${i ? ' ' : ''}${round(originX + args[i]! * scale)} ${round(originY - args[i + 1]! * scale)}`;
          }
          data.push(segment);
        }
        penX += position.xAdvance * scale;
      });
    }
  }
  const path = data.length ? `<path fill="${drawing.colour}" d="${data.join('')}"/>` : '';
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${drawing.width}" height="${drawing.height}" viewBox="0 0 ${drawing.width} ${drawing.height}">${path}</svg>`,
  );
}

// Hundredths of a pixel are far below what antialiasing can show and keep the SVG small.
function round(value: number): number {
  return Math.round(value * 100) / 100;
}
