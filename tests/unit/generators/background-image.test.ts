import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { AppError } from '../../../src/errors.ts';
import { DEFAULT_MAX_PIXELS, validateBackground } from '../../../src/generators/background-image.ts';
import { pngHeaderOnly, solidBackground, tempDir } from '../../helpers/images.ts';

let dir: string;
beforeEach(() => {
  dir = tempDir('background');
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function file(name: string, bytes: Buffer | string): string {
  const target = path.join(dir, name);
  fs.writeFileSync(target, bytes);
  return target;
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).status).toBe(422);
  return error as AppError;
}

describe('accepted backgrounds', () => {
  test.each(['png', 'jpeg', 'webp'] as const)('a %s gives its size and format', async (format) => {
    // Named .bin: the file name says nothing, the bytes decide.
    const info = await validateBackground(file('upload.bin', await solidBackground(format, 320, 200)), DEFAULT_MAX_PIXELS);
    expect(info).toEqual({ width: 320, height: 200, format });
  });

  test('an image exactly at the pixel limit is accepted', async () => {
    const info = await validateBackground(file('edge.png', await solidBackground('png', 100, 50)), 5000);
    expect(info.width * info.height).toBe(5000);
  });
});

describe('refused backgrounds', () => {
  test('a 16000×16000 PNG is refused as too large from its header alone', async () => {
    // The file has no pixel data: had it been decoded, it would have been refused as damaged.
    const error = await refusal(validateBackground(file('huge.png', pngHeaderOnly(16_000, 16_000)), DEFAULT_MAX_PIXELS));
    expect(error.code).toBe('IMAGE_TOO_LARGE');
    expect(error.message).toBe('The background is 16000×16000 pixels (256 megapixels); the largest allowed is 40 megapixels.');
    // The same file under a higher limit is decoded, and only then found damaged.
    expect((await refusal(validateBackground(path.join(dir, 'huge.png'), 300_000_000))).code).toBe('IMAGE_INVALID');
  });

  test.each([
    ['an SVG named .png', 'drawing.png', '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'],
    ['a shell script named .png', 'script.png', '#!/bin/sh\nrm -rf /\n'],
    ['an empty file', 'empty.png', ''],
  ])('%s is refused as not an image', async (_case, name, bytes) => {
    const error = await refusal(validateBackground(file(name, Buffer.from(bytes)), DEFAULT_MAX_PIXELS));
    expect([error.code, error.message]).toEqual(['IMAGE_INVALID', 'The background must be a JPEG, PNG or WebP image.']);
  });

  test('a GIF, a real image of another format, is refused too', async () => {
    const gif = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#000' } }).gif().toBuffer();
    const error = await refusal(validateBackground(file('anim.gif', gif), DEFAULT_MAX_PIXELS));
    expect(error.code).toBe('IMAGE_INVALID');
  });

  test.each(['png', 'jpeg'] as const)('a truncated %s is refused as damaged', async (format) => {
    const whole = await solidBackground(format);
    const error = await refusal(validateBackground(file('cut.img', whole.subarray(0, Math.floor(whole.length / 2))), DEFAULT_MAX_PIXELS));
    expect(error.code).toBe('IMAGE_INVALID');
    expect(error.message).toMatch(/damaged or incomplete/);
  });
});
