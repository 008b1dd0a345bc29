import sharp from 'sharp';
import { beforeAll, describe, expect, test } from 'vitest';
import { AppError } from '../../../src/errors.ts';
import { MAX_FILLED_TEXT_LENGTH, renderTextOverlay, textOverlaySchema, textOverlayText, type TextOverlayInput } from '../../../src/generators/text-overlay.ts';
import { BLUE, decode, difference, inkBounds, maxDifferenceOutside, solidBackground, type Pixels } from '../../helpers/images.ts';

const YELLOW = { r: 0xff, g: 0xee, b: 0x00 };
// Box edges on multiples of 8: JPEG works in 8×8 blocks (4:4:4), so blocks outside the box hold
// no text at all and must come out exactly as the background did.
const BOX = { x: 96, y: 96, width: 608, height: 240 };
const BASE = { text: 'Hello', ...BOX, font: 'dejavu-sans', fontSize: 40, colour: '#ffee00' } as const;

let background: Buffer;
beforeAll(async () => {
  background = await solidBackground('png');
});

function render(settings: Partial<TextOverlayInput['settings']> = {}, values?: Record<string, string>) {
  return renderTextOverlay({ background, settings: { ...BASE, ...settings }, values });
}

async function renderPixels(settings: Partial<TextOverlayInput['settings']> = {}, values?: Record<string, string>): Promise<Pixels> {
  return decode(await render(settings, values));
}

function countChanged(pixels: Pixels, rect: { left: number; top: number; right: number; bottom: number }): number {
  let changed = 0;
  for (let y = rect.top; y <= rect.bottom; y++) for (let x = rect.left; x <= rect.right; x++) if (difference(pixels.at(x, y), BLUE) > 40) changed++;
  return changed;
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe('the rendered image', () => {
  test('is a JPEG of the background’s size', async () => {
    const output = await render();
    const metadata = await sharp(output).metadata();
    expect([metadata.format, metadata.width, metadata.height]).toEqual(['jpeg', 1200, 630]);
    expect(metadata.exif).toBeUndefined();
  });

  test('changes pixels inside the box and leaves the rest of the background as it was', async () => {
    const pixels = await renderPixels();
    const ink = inkBounds(pixels, BLUE)!;
    expect(countChanged(pixels, ink)).toBeGreaterThan(100);
    expect(ink.left).toBeGreaterThanOrEqual(BOX.x);
    expect(ink.top).toBeGreaterThanOrEqual(BOX.y);
    const box = { left: BOX.x, top: BOX.y, right: BOX.x + BOX.width, bottom: BOX.y + BOX.height };
    expect(maxDifferenceOutside(pixels, box, BLUE)).toBeLessThanOrEqual(2);
    expect(difference(pixels.at(10, 10), BLUE)).toBeLessThanOrEqual(2);
  });

  test('draws in the chosen colour', async () => {
    const pixels = await renderPixels({ text: '█████', fontSize: 60 });
    const ink = inkBounds(pixels, BLUE)!;
    const centre = pixels.at(Math.round((ink.left + ink.right) / 2), Math.round((ink.top + ink.bottom) / 2));
    expect(difference(centre, YELLOW)).toBeLessThanOrEqual(4);
  });

  test('is byte-identical for identical inputs', async () => {
    const [a, b] = await Promise.all([render({ text: 'Same bytes, every time' }), render({ text: 'Same bytes, every time' })]);
    expect(a.equals(b)).toBe(true);
    expect(a.equals(await render({ text: 'Same bytes, every time!' }))).toBe(false);
  });

  test.each(['jpeg', 'webp'] as const)('works on a %s background too', async (format) => {
    const output = await renderTextOverlay({ background: await solidBackground(format), settings: BASE });
    const pixels = await decode(output);
    expect([pixels.width, pixels.height]).toEqual([1200, 630]);
    expect(inkBounds(pixels, BLUE)).toBeDefined();
  });

  test('a transparent PNG is flattened onto white instead of failing', async () => {
    const transparent = await sharp({ create: { width: 400, height: 300, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
      .png()
      .toBuffer();
    const output = await renderTextOverlay({ background: transparent, settings: { ...BASE, x: 0, y: 0, width: 400, height: 96 } });
    const pixels = await decode(output);
    expect(difference(pixels.at(200, 250), { r: 255, g: 255, b: 255 })).toBeLessThanOrEqual(2);
  });

  test('the box is measured on the image as displayed (EXIF orientation applied)', async () => {
    // Stored 1200×630 with "rotate 90°": displayed 630×1200, so a box 1000 pixels down fits.
    const rotated = await sharp(await solidBackground('jpeg')).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const output = await renderTextOverlay({ background: rotated, settings: { ...BASE, x: 8, y: 1000, width: 600, height: 96 } });
    const metadata = await sharp(output).metadata();
    expect([metadata.width, metadata.height]).toEqual([630, 1200]);
  });
});

describe('placeholders', () => {
  test('{name} is filled from the query; the result equals rendering the literal text', async () => {
    const filled = await render({ text: 'Hello {name}!' }, { name: 'Ada' });
    expect(filled.equals(await render({ text: 'Hello Ada!' }))).toBe(true);
  });

  test('{username} is filled; unknown placeholders stay as typed', async () => {
    const filled = await render({ text: 'Hi {username}, {unknown}' }, { username: 'grace' });
    expect(filled.equals(await render({ text: 'Hi grace, {unknown}' }))).toBe(true);
  });

  test('text made long by many placeholders is cut, so its layout time stays bounded', () => {
    const filled = textOverlayText({ text: '{name} '.repeat(280) }, { name: 'x'.repeat(100) });
    expect(filled).toHaveLength(MAX_FILLED_TEXT_LENGTH);
  });

  test('a long value is cut at 100 characters', async () => {
    const filled = await render({ text: '{name}', fontSize: 8 }, { name: 'x'.repeat(500) });
    expect(filled.equals(await render({ text: 'x'.repeat(100), fontSize: 8 }))).toBe(true);
  });
});

describe('user text is always literal', () => {
  test.each(['<b>x</b>', 'a & b', '<span size="100000">A</span>', '&amp; &#60; &lt;', ']]><!--', '"\'<>&'])(
    '%j renders without error, as its own characters',
    async (text) => {
      const output = await render({ text });
      expect(inkBounds(await decode(output), BLUE)).toBeDefined();
    },
  );

  test('tags are drawn, not applied: <b>x</b> is wider than x and not bold', async () => {
    const tagged = inkBounds(await renderPixels({ text: '<b>x</b>' }), BLUE)!;
    const plain = inkBounds(await renderPixels({ text: 'x' }), BLUE)!;
    expect(tagged.right - tagged.left).toBeGreaterThan(6 * (plain.right - plain.left));
  });

  test('a size in markup does not change the size: the ink stays one line high', async () => {
    const pixels = await renderPixels({ text: '<span size="100000">A</span>', width: 1000 });
    const ink = inkBounds(pixels, BLUE)!;
    expect(ink.bottom - ink.top).toBeLessThan(48);
  });

  test('markup typed in the settings and markup arriving in the query give the same image', async () => {
    const fromQuery = await render({ text: '{name}' }, { name: '<b>x</b> & <i>y</i>' });
    expect(fromQuery.equals(await render({ text: '<b>x</b> & <i>y</i>' }))).toBe(true);
  });

  test('entities are not decoded: "&amp;" and "&" differ', async () => {
    expect((await render({ text: '&amp;' })).equals(await render({ text: '&' }))).toBe(false);
  });
});

describe('layout inside the box', () => {
  test('a narrower box wraps the same text onto more lines', async () => {
    const text = 'The quick brown fox jumps over the lazy dog';
    const wide = inkBounds(await renderPixels({ text, width: 1000 }), BLUE)!;
    const narrow = inkBounds(await renderPixels({ text, width: 304 }), BLUE)!;
    expect(narrow.bottom - narrow.top).toBeGreaterThan(2 * (wide.bottom - wide.top));
    expect(narrow.right).toBeLessThan(BOX.x + 304);
  });

  test('a newline starts a new line', async () => {
    const oneLine = inkBounds(await renderPixels({ text: 'A B' }), BLUE)!;
    const twoLines = inkBounds(await renderPixels({ text: 'A\nB' }), BLUE)!;
    expect(twoLines.bottom - twoLines.top).toBeGreaterThan(1.5 * (oneLine.bottom - oneLine.top));
  });

  test('text taller than the box is cut inside it: nothing drawn below y+height or right of x+width', async () => {
    const text = 'word '.repeat(400);
    const pixels = await renderPixels({ text, height: 96, width: 304 });
    const box = { left: BOX.x, top: BOX.y, right: BOX.x + 304, bottom: BOX.y + 96 };
    expect(maxDifferenceOutside(pixels, box, BLUE)).toBeLessThanOrEqual(2);
    expect(inkBounds(pixels, BLUE)!.bottom).toBeGreaterThan(BOX.y + 50);
  });

  test('a word wider than the box is broken, starting on the first line', async () => {
    const pixels = await renderPixels({ text: 'W'.repeat(40), width: 304 });
    const ink = inkBounds(pixels, BLUE)!;
    expect(ink.top).toBeLessThan(BOX.y + 20);
    expect(ink.right).toBeLessThan(BOX.x + 304);
    expect(ink.bottom - ink.top).toBeGreaterThan(100);
  });

  test.each(['center', 'right'] as const)('%s alignment moves the text to the right of left-aligned text', async (align) => {
    const left = inkBounds(await renderPixels({ text: 'Hi' }), BLUE)!;
    const moved = inkBounds(await renderPixels({ text: 'Hi', align }), BLUE)!;
    expect(moved.left).toBeGreaterThan(left.left + 200);
    expect(moved.right).toBeLessThan(BOX.x + BOX.width);
  });
});

describe('settings', () => {
  test.each(['#FFEE00', '#ffee00', '#FfEe00'])('colour %s is accepted and gives the same image as #ffee00', async (colour) => {
    expect((await render({ colour })).equals(await render({ colour: '#ffee00' }))).toBe(true);
  });

  test.each(['red', '#12345g', '#fff', 'ffee00', '#ffee00 ', ''])('colour %j is refused with a message', async (colour) => {
    const error = await refusal(render({ colour }));
    expect([error.status, error.code, error.message]).toEqual([422, 'SETTINGS_INVALID', 'Use a colour like #1a2b3c.']);
  });

  test.each([
    ['empty text', { text: '' }, 'Enter the text to draw.'],
    ['a 20,000-character text', { text: 'x'.repeat(20_000) }, 'The text can be at most 2000 characters.'],
    ['an unknown font', { font: 'comic-sans' }, 'Choose one of the fonts: DejaVu Sans, DejaVu Sans Bold,'],
    ['font size 5', { fontSize: 5 }, 'The font size must be at least 6.'],
    ['font size 401', { fontSize: 401 }, 'The font size can be at most 400.'],
    ['font size 12.5', { fontSize: 12.5 }, 'The font size must be a whole number.'],
    ['font size "40"', { fontSize: '40' }, 'The font size must be a number.'],
    ['x = -1', { x: -1 }, 'The box’s left edge (x) cannot be negative.'],
    ['width 0', { width: 0 }, 'The box’s width must be at least 1 pixel.'],
    ['a box lower than one line', { height: 20, fontSize: 40 }, 'The box is 20 pixels high, but one line of 40-pixel DejaVu Sans needs 47.'],
  ])('%s is refused: %s', async (_case, settings, message) => {
    const error = await refusal(render(settings as Partial<TextOverlayInput['settings']>));
    expect([error.status, error.code]).toEqual([422, 'SETTINGS_INVALID']);
    expect(error.message).toContain(message);
  });

  test('a box reaching past the background is refused with its size', async () => {
    const error = await refusal(render({ x: 1000, width: 300 }));
    expect([error.status, error.code]).toEqual([422, 'BOX_OUTSIDE_IMAGE']);
    expect(error.message).toContain('1200×630');
  });

  test('the schema lowercases the colour and defaults the alignment', () => {
    expect(textOverlaySchema.parse({ ...BASE, colour: '#AABBCC' })).toMatchObject({ colour: '#aabbcc', align: 'left' });
  });
});
