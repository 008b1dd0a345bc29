/**
 * The built-in kind "Text on an image" (the seed's TextOverlayTemporaryDownload): text, with
 * `{name}` / `{username}` filled in, drawn inside a box on an uploaded background, saved as JPEG.
 * Same inputs give the same bytes, which is what lets the cache key stand for the file.
 */
import fs from 'node:fs/promises';
import sharp, { type JpegOptions } from 'sharp';
import { z } from 'zod';
import { unavailable, unprocessable } from '../errors.ts';
import { DEFAULT_MAX_PIXELS, assertDecodable, readBackgroundInfo } from './background-image.ts';
import { FONT_NAMES, fontLabel, lineHeightFor } from './font-catalog.ts';
import { parseGeneratorSettings, type GeneratorContext, type GeneratorKind } from './generator-registry.ts';
import { cleanText, fillPlaceholders } from './placeholder-text.ts';
import { drawTextSvg } from './text-drawing.ts';
import { TEXT_ALIGNS, layoutText } from './text-layout.ts';

export const MAX_TEXT_LENGTH = 2000;
/** Placeholders can make the text longer than typed; past this it is cut, to bound layout time. */
export const MAX_FILLED_TEXT_LENGTH = 2 * MAX_TEXT_LENGTH;
export const TEXT_OVERLAY_QUERY_PARAMS = ['name'] as const;
/** Placeholders the text may use: the declared query parameters and the signed-in user's name. */
export const TEXT_OVERLAY_PLACEHOLDERS: readonly string[] = [...TEXT_OVERLAY_QUERY_PARAMS, 'username'];
/** Setting RENDER_TIMEOUT. */
export const DEFAULT_RENDER_TIMEOUT_SECONDS = 10;

// Fixed so identical inputs give identical bytes. 4:4:4 keeps thin coloured strokes crisp, which
// 4:2:0 visibly blurs on text. Huffman optimisation is off: it took about a third of a 1200×630
// render for files some 10% smaller, and a miss is what a visitor waits for. The other options
// are spelled out so a change of sharp's defaults cannot silently change the output.
const JPEG_OPTIONS: JpegOptions = {
  quality: 88,
  chromaSubsampling: '4:4:4',
  progressive: false,
  optimiseCoding: false,
  mozjpeg: false,
  trellisQuantisation: false,
  overshootDeringing: false,
  optimiseScans: false,
  quantisationTable: 0,
};
// Transparent parts of a PNG or WebP background show as white, as in most viewers.
const FLATTEN_BACKGROUND = '#ffffff';

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
      .max(MAX_TEXT_LENGTH, `The text can be at most ${MAX_TEXT_LENGTH} characters.`),
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

export interface TextOverlayInput {
  /** Path or bytes of a JPEG, PNG or WebP image. */
  background: string | Buffer;
  /** Validated again here: this function is also called directly, with settings from anywhere. */
  settings: z.input<typeof textOverlaySchema>;
  /** Values for the placeholders in TEXT_OVERLAY_PLACEHOLDERS. */
  values?: Readonly<Record<string, string | undefined>>;
  maxPixels?: number;
  timeoutSeconds?: number;
}

/** The text as it will be drawn: cleaned, placeholders filled. */
export function textOverlayText(settings: Pick<TextOverlaySettings, 'text'>, values: Readonly<Record<string, string | undefined>> = {}): string {
  const filled = fillPlaceholders(cleanText(settings.text), TEXT_OVERLAY_PLACEHOLDERS, values);
  return filled.length > MAX_FILLED_TEXT_LENGTH ? Array.from(filled).slice(0, MAX_FILLED_TEXT_LENGTH).join('') : filled;
}

export async function renderTextOverlay(input: TextOverlayInput): Promise<Buffer> {
  const settings = parseGeneratorSettings({ schema: textOverlaySchema }, input.settings);
  const maxPixels = input.maxPixels ?? DEFAULT_MAX_PIXELS;
  const image = typeof input.background === 'string' ? await fs.readFile(input.background) : input.background;
  const background = await readBackgroundInfo(image, maxPixels);
  if (settings.x + settings.width > background.width || settings.y + settings.height > background.height) {
    throw unprocessable(
      `The text box (from ${settings.x},${settings.y}, ${settings.width}×${settings.height} pixels) must lie inside ` +
        `the ${background.width}×${background.height}-pixel background.`,
      { code: 'BOX_OUTSIDE_IMAGE', details: { background: { width: background.width, height: background.height } } },
    );
  }
  const layout = layoutText({ ...settings, text: textOverlayText(settings, input.values) });
  const svg = drawTextSvg(layout, settings);
  try {
    return await sharp(image, { limitInputPixels: maxPixels, autoOrient: true })
      .flatten({ background: FLATTEN_BACKGROUND })
      .composite([{ input: svg, left: settings.x, top: settings.y }])
      .jpeg(JPEG_OPTIONS)
      .timeout({ seconds: input.timeoutSeconds ?? DEFAULT_RENDER_TIMEOUT_SECONDS })
      .toBuffer();
  } catch (error) {
    if (error instanceof Error && /timeout/i.test(error.message)) {
      throw unavailable('Making this image took too long; try again in a moment.', { code: 'RENDER_TIMEOUT', cause: error });
    }
    // The header was fine; if the pixels are not, it is the upload's fault (a 422), else ours.
    await assertDecodable(image, maxPixels);
    throw error;
  }
}

export interface TextOverlayKindOptions {
  maxPixels?: number;
  timeoutSeconds?: number;
}

function placeholderValues(ctx: GeneratorContext<TextOverlaySettings>): Record<string, string | undefined> {
  return { ...ctx.query, username: ctx.user?.username };
}

export function createTextOverlayKind(options: TextOverlayKindOptions = {}): GeneratorKind<TextOverlaySettings> {
  return {
    name: 'text-overlay',
    label: 'Text on an image',
    version: 1,
    schema: textOverlaySchema,
    extension: 'jpg',
    mimeType: 'image/jpeg',
    queryParams: TEXT_OVERLAY_QUERY_PARAMS,
    cacheInputs: (ctx) => ({ text: textOverlayText(ctx.settings, placeholderValues(ctx)) }),
    async createFile(filePath, ctx) {
      if (!ctx.asset) {
        throw unprocessable('This download has no background image yet; upload one in its settings.', { code: 'IMAGE_MISSING' });
      }
      const jpeg = await renderTextOverlay({ background: ctx.asset.path, settings: ctx.settings, values: placeholderValues(ctx), ...options });
      await fs.writeFile(filePath, jpeg);
    },
  };
}

/** With the default limits; the server should build its own with createTextOverlayKind(config). */
export const textOverlayKind: GeneratorKind<TextOverlaySettings> = createTextOverlayKind();
