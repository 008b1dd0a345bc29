/**
 * The fonts text overlays may use. They come from the dejavu-fonts-ttf package, never from the
 * machine, so a render looks the same (byte for byte) wherever it runs.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as fontkit from 'fontkit';

export const FONT_NAMES = ['dejavu-sans', 'dejavu-sans-bold', 'dejavu-serif', 'dejavu-serif-bold', 'dejavu-sans-mono'] as const;
export type FontName = (typeof FONT_NAMES)[number];

const FONT_FILES: Record<FontName, { file: string; label: string }> = {
  'dejavu-sans': { file: 'DejaVuSans.ttf', label: 'DejaVu Sans' },
  'dejavu-sans-bold': { file: 'DejaVuSans-Bold.ttf', label: 'DejaVu Sans Bold' },
  'dejavu-serif': { file: 'DejaVuSerif.ttf', label: 'DejaVu Serif' },
  'dejavu-serif-bold': { file: 'DejaVuSerif-Bold.ttf', label: 'DejaVu Serif Bold' },
  'dejavu-sans-mono': { file: 'DejaVuSansMono.ttf', label: 'DejaVu Sans Mono' },
};

const require = createRequire(import.meta.url);
const FONT_DIR = path.join(path.dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');

// Loaded on the first font use, not at import: parsing fontkit costs about 100 ms, which a server
// start should not pay when no generated download is ever made.
let fontkitModule: typeof fontkit | undefined;
const loadFontkit = (): typeof fontkit => (fontkitModule ??= require('fontkit') as typeof fontkit);

/** A parsed font plus what every layout needs from it, in font units. */
export interface BundledFont {
  name: FontName;
  label: string;
  file: string;
  font: fontkit.Font;
  unitsPerEm: number;
  ascent: number;
  /** Ascent + descent + line gap: the distance from one baseline to the next. */
  lineAdvance: number;
  /** Outline commands of a glyph, parsed once per glyph for the life of the process. */
  outline(glyph: fontkit.Glyph): readonly fontkit.PathCommand[];
}

const loaded = new Map<FontName, BundledFont>();

export function isFontName(name: string): name is FontName {
  return (FONT_NAMES as readonly string[]).includes(name);
}

export function fontLabel(name: FontName): string {
  return FONT_FILES[name].label;
}

/** Parses a bundled font on first use; later calls return the same object. */
export function loadFont(name: FontName): BundledFont {
  const cached = loaded.get(name);
  if (cached) return cached;
  const file = path.join(FONT_DIR, FONT_FILES[name].file);
  const opened = loadFontkit().openSync(file);
  // A .ttc would give a collection; the bundled files are single fonts, so this is a packaging bug.
  if (!('layout' in opened)) throw new Error(`${file} is a font collection, expected a single font`);
  const outlines = new Map<number, readonly fontkit.PathCommand[]>();
  const bundled: BundledFont = {
    name,
    label: FONT_FILES[name].label,
    file,
    font: opened,
    unitsPerEm: opened.unitsPerEm,
    ascent: opened.ascent,
    // hhea's descent is negative.
    lineAdvance: opened.ascent - opened.descent + opened.lineGap,
    outline(glyph) {
      let commands = outlines.get(glyph.id);
      if (!commands) {
        commands = glyph.path.commands;
        outlines.set(glyph.id, commands);
      }
      return commands;
    },
  };
  loaded.set(name, bundled);
  return bundled;
}

/** Baseline-to-baseline distance in pixels for a font size. */
export function lineHeightFor(name: FontName, fontSize: number): number {
  const font = loadFont(name);
  return (font.lineAdvance * fontSize) / font.unitsPerEm;
}
