/**
 * Checks for uploaded background images. The format comes from the file's bytes as libvips
 * recognises them, never from the client's content type or the file name, and the size from the
 * header, before a single pixel is decoded.
 */
import fs from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import { unprocessable } from '../errors.ts';

export const BACKGROUND_FORMATS = ['jpeg', 'png', 'webp'] as const;
export type BackgroundFormat = (typeof BACKGROUND_FORMATS)[number];

/** 40 megapixels: a 8000×5000 photo. Setting IMAGE_MAX_PIXELS. */
export const DEFAULT_MAX_PIXELS = 40_000_000;

export interface BackgroundInfo {
  /** As displayed, after the EXIF orientation. */
  width: number;
  height: number;
  format: BackgroundFormat;
}

const NOT_AN_IMAGE = 'The background must be a JPEG, PNG or WebP image.';
const DAMAGED = 'The background image is damaged or incomplete; save it again and upload it again.';

/**
 * Format and size from the header only. Upload handlers should call validateBackground, which
 * also decodes the pixels once so a damaged file is refused when it is uploaded.
 */
export async function readBackgroundInfo(image: Buffer, maxPixels: number): Promise<BackgroundInfo> {
  let metadata: Metadata;
  try {
    // The limit is checked below, against the size the header announces, so the message can say
    // how large the image is; metadata() reads the header and decodes nothing.
    metadata = await sharp(image, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw unprocessable(NOT_AN_IMAGE, { code: 'IMAGE_INVALID', cause: error });
  }
  const format = metadata.format as string | undefined;
  if (!format || !(BACKGROUND_FORMATS as readonly string[]).includes(format)) {
    throw unprocessable(NOT_AN_IMAGE, { code: 'IMAGE_INVALID', details: { format } });
  }
  const { width, height } = metadata.autoOrient;
  if (!width || !height) throw unprocessable(DAMAGED, { code: 'IMAGE_INVALID' });
  if (width * height > maxPixels) {
    throw unprocessable(
      `The background is ${width}×${height} pixels (${megapixels(width * height)} megapixels); ` +
        `the largest allowed is ${megapixels(maxPixels)} megapixels.`,
      { code: 'IMAGE_TOO_LARGE', details: { width, height, maxPixels } },
    );
  }
  return { width, height, format: format as BackgroundFormat };
}

/** For uploads: the header checks of readBackgroundInfo, then a full decode of the pixels. */
export async function validateBackground(path: string, maxPixels: number): Promise<BackgroundInfo> {
  const image = await fs.readFile(path);
  const info = await readBackgroundInfo(image, maxPixels);
  await assertDecodable(image, maxPixels);
  return info;
}

/** Throws IMAGE_INVALID when the pixels cannot be read (a truncated or corrupt file). */
export async function assertDecodable(image: Buffer, maxPixels: number): Promise<void> {
  try {
    await sharp(image, { limitInputPixels: maxPixels }).stats();
  } catch (error) {
    throw unprocessable(DAMAGED, { code: 'IMAGE_INVALID', cause: error });
  }
}

function megapixels(pixels: number): string {
  return String(Math.round(pixels / 100_000) / 10);
}
