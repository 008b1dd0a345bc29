/**
 * Rendering a text overlay: text drawn inside a box on a background, saved as JPEG. Same inputs
 * give the same bytes, which is what lets the cache key stand for the file. The kind that uses
 * this is in text-overlay-kind.ts, its settings in text-overlay-settings.ts (both re-exported).
 */
import fs from 'node:fs/promises';
import sharp, { type JpegOptions } from 'sharp';
import type { z } from 'zod';
import { unavailable, unprocessable } from '../errors.ts';
import { DEFAULT_MAX_PIXELS, assertDecodable, readBackgroundInfo } from './background-image.ts';
import { parseGeneratorSettings } from './generator-registry.ts';
import { drawTextSvg } from './text-drawing.ts';
import { layoutText } from './text-layout.ts';
import { DEFAULT_RENDER_TIMEOUT_SECONDS, textOverlaySchema, textOverlayText } from './text-overlay-settings.ts';

export * from './text-overlay-settings.ts';
export { MAX_BACKGROUND_BYTES, createTextOverlayKind, textOverlayKind, type TextOverlayKindOptions } from './text-overlay-kind.ts';

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
