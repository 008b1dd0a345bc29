/**
 * What a text overlay is made of: its settings schema and the text as it will be drawn. Kept
 * apart from the renderer (text-overlay.ts) so validating a form or computing a cache key never
 * loads sharp.
 */
import { z } from 'zod';
import { FONT_NAMES, fontLabel, lineHeightFor } from './font-catalog.ts';
import { cleanText, fillPlaceholders } from './placeholder-text.ts';
import { TEXT_ALIGNS } from './text-layout.ts';

export const MAX_TEXT_LENGTH = 2000;
/** Placeholders can make the text longer than typed; past this it is cut, to bound layout time. */
export const MAX_FILLED_TEXT_LENGTH = 2 * MAX_TEXT_LENGTH;
export const TEXT_OVERLAY_QUERY_PARAMS = ['name'] as const;
/** Placeholders the text may use: the declared query parameters and the signed-in user's name. */
export const TEXT_OVERLAY_PLACEHOLDERS: readonly string[] = [...TEXT_OVERLAY_QUERY_PARAMS, 'username'];
/** Setting RENDER_TIMEOUT. */
export const DEFAULT_RENDER_TIMEOUT_SECONDS = 10;

const coordinate = (what: string) =>
  z
    .number({ error: `${what} must be a number of pixels.` })
    .int(`${what} must be a whole number of pixels.`)
    .min(0, `${what} cannot be negative.`)
    .max(100_000, `${what} can be at most 100000 pixels.`);

const size = (what: string) => coordinate(what).min(1, `${what} must be at least 1 pixel.`);

export const textOverlaySchema = z
  .object({
    text: z
      .string({ error: 'Enter the text to draw.' })
      .min(1, 'Enter the text to draw.')
      .max(MAX_TEXT_LENGTH, `The text can be at most ${MAX_TEXT_LENGTH} characters.`)
      // Forms send line breaks as CRLF, JSON usually as LF: one stored form, one cached file.
      .transform((text) => text.replace(/\r\n?/g, '\n')),
    x: coordinate('The box’s left edge (x)'),
    y: coordinate('The box’s top edge (y)'),
    width: size('The box’s width'),
    height: size('The box’s height'),
    font: z.enum(FONT_NAMES, { error: `Choose one of the fonts: ${FONT_NAMES.map(fontLabel).join(', ')}.` }),
    fontSize: z
      .number({ error: 'The font size must be a number.' })
      .int('The font size must be a whole number.')
      .min(6, 'The font size must be at least 6.')
      .max(400, 'The font size can be at most 400.'),
    colour: z
      .string({ error: 'Use a colour like #1a2b3c.' })
      .regex(/^#[0-9a-fA-F]{6}$/, 'Use a colour like #1a2b3c.')
      // Lowercase, so #FFFFFF and #ffffff share one cached file.
      .transform((colour) => colour.toLowerCase()),
    align: z.enum(TEXT_ALIGNS, { error: 'Align the text left, center or right.' }).default('left'),
  })
  .superRefine((settings, ctx) => {
    const needed = Math.ceil(lineHeightFor(settings.font, settings.fontSize));
    if (settings.height < needed) {
      ctx.addIssue({
        code: 'custom',
        path: ['height'],
        message: `The box is ${settings.height} pixels high, but one line of ${settings.fontSize}-pixel ${fontLabel(settings.font)} needs ${needed}.`,
      });
    }
  });

export type TextOverlaySettings = z.output<typeof textOverlaySchema>;

/** The text as it will be drawn: cleaned, placeholders filled. */
export function textOverlayText(settings: Pick<TextOverlaySettings, 'text'>, values: Readonly<Record<string, string | undefined>> = {}): string {
  const filled = fillPlaceholders(cleanText(settings.text), TEXT_OVERLAY_PLACEHOLDERS, values);
  return filled.length > MAX_FILLED_TEXT_LENGTH ? Array.from(filled).slice(0, MAX_FILLED_TEXT_LENGTH).join('') : filled;
}
