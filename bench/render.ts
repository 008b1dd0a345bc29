/**
 * Cost of a cache miss for a text overlay: node --import tsx bench/render.ts [n]
 *
 * A 1200×630 photo-like JPEG background (a social-card size), two lines of bold centred text
 * with a {name} filled from the query, rendered through the cache exactly as a request would
 * (key, render, write, rename). Every render has a new name, so every one is a miss.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { systemClock } from '../src/clock.ts';
import { createGeneratedFileCache, ensureGeneratedFile } from '../src/generators/generated-file-cache.ts';
import { parseGeneratorSettings, type GeneratorContext } from '../src/generators/generator-registry.ts';
import { createTextOverlayKind, renderTextOverlay, type TextOverlaySettings } from '../src/generators/text-overlay.ts';
import { BENCH_OVERLAY, photoLikeBackground } from './lib/backgrounds.ts';

const WIDTH = 1200;
const HEIGHT = 630;
const N = Number(process.argv[2] ?? 50);
const WARM_UP = 5;
const GOAL_MS = 30;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(label: string, times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  return `${label}: median ${percentile(sorted, 50).toFixed(1)} ms, p90 ${percentile(sorted, 90).toFixed(1)} ms (n=${sorted.length})`;
}

async function measure(count: number, run: (index: number) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await run(i);
    times.push(performance.now() - start);
  }
  return times;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-render-'));
try {
  const backgroundPath = path.join(work, 'background.jpg');
  fs.writeFileSync(backgroundPath, await photoLikeBackground(WIDTH, HEIGHT));
  const kind = createTextOverlayKind();
  const settings = parseGeneratorSettings(kind, BENCH_OVERLAY);
  const cache = createGeneratedFileCache({ dir: path.join(work, 'cache'), clock: systemClock });
  const context = (name: string): GeneratorContext<TextOverlaySettings> => ({
    download: { id: 1, slug: 'certificate', title: 'Certificate', fileName: null },
    settings,
    query: { name },
    asset: { path: backgroundPath, sha256: 'b'.repeat(64) },
  });

  await measure(WARM_UP, (i) => ensureGeneratedFile(cache, kind, context(`Warm-up ${i}`)));
  const misses = await measure(N, (i) => ensureGeneratedFile(cache, kind, context(`Ada Lovelace ${i}`)));
  const hits = await measure(N, (i) => ensureGeneratedFile(cache, kind, context(`Ada Lovelace ${i}`)));
  const renderOnly = await measure(N, (i) =>
    renderTextOverlay({ background: backgroundPath, settings, values: { name: `Grace Hopper ${i}` } }),
  );

  const median = [...misses].sort((a, b) => a - b)[Math.ceil(misses.length / 2) - 1]!;
  console.log(`machine: ${os.cpus().length} cores, node ${process.version}, sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}`);
  console.log(summary(`render ${WIDTH}x${HEIGHT} miss`, misses));
  console.log(summary(`  of which renderTextOverlay alone`, renderOnly));
  console.log(summary(`cache hit`, hits));
  console.log(`goal ≤ ${GOAL_MS} ms median on this machine: ${median <= GOAL_MS ? 'met' : 'NOT met'}`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
