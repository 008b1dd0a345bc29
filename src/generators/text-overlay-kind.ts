/**
 * The built-in kind "Text on an image" (the seed's TextOverlayTemporaryDownload): text, with
 * `{name}` / `{username}` filled in, drawn inside a box on an uploaded background, saved as JPEG.
 * sharp is imported on the first render or upload, not with this module: a server whose
 * downloads are all stored files never loads it.
 */
import fs from 'node:fs/promises';
import { unprocessable } from '../errors.ts';
import { FONT_NAMES, fontLabel } from './font-catalog.ts';
import type { GeneratorContext, GeneratorKind } from './generator-registry.ts';
import {
  DEFAULT_RENDER_TIMEOUT_SECONDS,
  MAX_TEXT_LENGTH,
  TEXT_OVERLAY_QUERY_PARAMS,
  textOverlaySchema,
  textOverlayText,
  type TextOverlaySettings,
} from './text-overlay-settings.ts';
import { TEXT_ALIGNS } from './text-layout.ts';

/** Setting IMAGE_MAX_PIXELS (background-image.ts has the same default; that module loads sharp). */
const DEFAULT_MAX_PIXELS = 40_000_000;
/**
 * A background file larger than this is refused before it is read: decoding reads it whole, and
 * a 40-megapixel photo is far smaller even as PNG.
 */
export const MAX_BACKGROUND_BYTES = 100 * 1024 * 1024;

export interface TextOverlayKindOptions {
  maxPixels?: number;
  timeoutSeconds?: number;
}

/** `{name}` comes from `?name=`, else from the signed-in user; `{username}` only from the user. */
function placeholderValues(ctx: GeneratorContext<TextOverlaySettings>): Record<string, string | undefined> {
  return { ...ctx.query, name: ctx.query.name ?? ctx.user?.username, username: ctx.user?.username };
}

const number = (name: string, label: string, initial: number, min: number, max = 100_000) =>
  ({ name, label, type: 'number', initial, min, max }) as const;

export function createTextOverlayKind(options: TextOverlayKindOptions = {}): GeneratorKind<TextOverlaySettings> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  return {
    name: 'text-overlay',
    label: 'Text on an image',
    version: 1,
    schema: textOverlaySchema,
    extension: 'jpg',
    mimeType: 'image/jpeg',
    queryParams: TEXT_OVERLAY_QUERY_PARAMS,
    fields: [
      {
        name: 'text',
        label: 'Text',
        type: 'textarea',
        initial: 'Hello {name}',
        maxLength: MAX_TEXT_LENGTH,
        help: '{name} is the link’s ?name= (else the signed-in user’s name), {username} the signed-in user’s name. New lines start new lines; words wrap inside the box; text that does not fit ends with “…”.',
      },
      number('x', 'Box left (x)', 40, 0),
      number('y', 'Box top (y)', 40, 0),
      number('width', 'Box width', 600, 1),
      number('height', 'Box height', 200, 1),
      { name: 'font', label: 'Font', type: 'select', initial: 'dejavu-sans', options: FONT_NAMES.map((value) => ({ value, label: fontLabel(value) })) },
      number('fontSize', 'Font size (pixels)', 48, 6, 400),
      { name: 'colour', label: 'Colour', type: 'colour', initial: '#ffffff', help: 'Like #1a2b3c.' },
      { name: 'align', label: 'Alignment', type: 'select', initial: 'left', options: TEXT_ALIGNS.map((value) => ({ value, label: value })) },
    ],
    asset: {
      field: 'background',
      label: 'Background image',
      accept: 'image/jpeg,image/png,image/webp',
      required: true,
      async validate(filePath, size) {
        if (size > MAX_BACKGROUND_BYTES) {
          throw unprocessable(`The background file is ${Math.ceil(size / 1024 ** 2)} MB; the largest allowed is ${MAX_BACKGROUND_BYTES / 1024 ** 2} MB.`, {
            code: 'IMAGE_TOO_LARGE',
          });
        }
        const { validateBackground } = await import('./background-image.ts');
        await validateBackground(filePath, maxPixels);
      },
    },
    cacheInputs: (ctx) => ({ text: textOverlayText(ctx.settings, placeholderValues(ctx)) }),
    async createFile(filePath, ctx) {
      if (!ctx.asset) {
        throw unprocessable('This download has no background image yet; upload one in its settings.', { code: 'IMAGE_MISSING' });
      }
      const { renderTextOverlay } = await import('./text-overlay.ts');
      const jpeg = await renderTextOverlay({
        background: ctx.asset.path,
        settings: ctx.settings,
        values: placeholderValues(ctx),
        maxPixels,
        timeoutSeconds: options.timeoutSeconds ?? DEFAULT_RENDER_TIMEOUT_SECONDS,
      });
      await fs.writeFile(filePath, jpeg);
    },
  };
}

/** With the default limits; the server builds its own with createTextOverlayKind(config). */
export const textOverlayKind: GeneratorKind<TextOverlaySettings> = createTextOverlayKind();
