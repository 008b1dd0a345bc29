/** Backgrounds made on the fly and pixel inspection for the rendering tests. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

export const BLUE = { r: 0x20, g: 0x60, b: 0xa0 };

export function solidBackground(format: 'png' | 'jpeg' | 'webp' = 'png', width = 1200, height = 630): Promise<Buffer> {
  const image = sharp({ create: { width, height, channels: 3, background: BLUE } });
  if (format === 'jpeg') return image.jpeg({ quality: 95 }).toBuffer();
  if (format === 'webp') return image.webp({ lossless: true }).toBuffer();
  return image.png().toBuffer();
}

/**
 * A PNG whose header announces width×height but whose pixel data stops after a few bytes of the
 * first row: refusing it as "too large" (rather than "damaged") shows the size was judged from
 * the header, before any decoding.
 */
export function pngHeaderOnly(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(Buffer.alloc(16))), chunk('IEND', Buffer.alloc(0))]);
}

export interface Pixels {
  width: number;
  height: number;
  at(x: number, y: number): [number, number, number];
}

export async function decode(image: Buffer): Promise<Pixels> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    at(x, y) {
      const i = (y * info.width + x) * info.channels;
      return [data[i]!, data[i + 1]!, data[i + 2]!];
    },
  };
}

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

export function difference([r, g, b]: readonly [number, number, number], colour: Rgb): number {
  return Math.max(Math.abs(r - colour.r), Math.abs(g - colour.g), Math.abs(b - colour.b));
}

export interface Rect {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** The smallest rectangle holding every pixel that differs from `colour` by more than `threshold`. */
export function inkBounds(pixels: Pixels, colour: Rgb, threshold = 40): Rect | undefined {
  let bounds: Rect | undefined;
  for (let y = 0; y < pixels.height; y++) {
    for (let x = 0; x < pixels.width; x++) {
      if (difference(pixels.at(x, y), colour) <= threshold) continue;
      bounds = bounds
        ? { left: Math.min(bounds.left, x), top: Math.min(bounds.top, y), right: Math.max(bounds.right, x), bottom: Math.max(bounds.bottom, y) }
        : { left: x, top: y, right: x, bottom: y };
    }
  }
  return bounds;
}

/** The largest difference from `colour` among pixels outside `rect` (right/bottom exclusive). */
export function maxDifferenceOutside(pixels: Pixels, rect: Rect, colour: Rgb): number {
  let max = 0;
  for (let y = 0; y < pixels.height; y++) {
    for (let x = 0; x < pixels.width; x++) {
      if (x >= rect.left && x < rect.right && y >= rect.top && y < rect.bottom) continue;
      max = Math.max(max, difference(pixels.at(x, y), colour));
    }
  }
  return max;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}
