/** Backgrounds for the generated-file benchmarks. */
import sharp from 'sharp';

/** Gradient plus noise: JPEG decode and encode cost what they cost on a real photo. */
export async function photoLikeBackground(width = 1200, height = 630): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  let seed = 42;
  for (let i = 0; i < width * height; i++) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const x = i % width;
    const y = Math.floor(i / width);
    const noise = (seed % 32) - 16;
    pixels[i * 3] = clamp((x / width) * 200 + noise);
    pixels[i * 3 + 1] = clamp((y / height) * 160 + 40 + noise);
    pixels[i * 3 + 2] = clamp(180 - (x / width) * 120 + noise);
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

function clamp(value: number): number {
  return Math.max(0, Math.min(255, Math.round(value)));
}

/** The settings both benchmarks render with: two lines of bold centred text, a name from the query. */
export const BENCH_OVERLAY = {
  text: 'Congratulations, {name}!\nYou have completed the course.',
  x: 100,
  y: 200,
  width: 1000,
  height: 240,
  font: 'dejavu-sans-bold',
  fontSize: 56,
  colour: '#FFFFFF',
  align: 'center',
} as const;
