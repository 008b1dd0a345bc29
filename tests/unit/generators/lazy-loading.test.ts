/**
 * A server whose downloads are all stored files never loads sharp or fontkit: they cost about
 * 80 and 100 ms at start. Checked in a fresh process, where nothing else has loaded them.
 */
import { spawnSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { PROJECT_ROOT } from '../../../src/config.ts';

// sharp's native addon and fontkit's CommonJS dependencies land in require's cache whichever
// way the packages are imported.
const script = `
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
const cache = createRequire(import.meta.url).cache;
const loaded = () => ({
  sharp: Object.keys(cache).some((k) => /@img[\\\\/]sharp-/.test(k)),
  fontkit: Object.keys(cache).some((k) => /node_modules[\\\\/](fontkit|brotli|unicode-properties)[\\\\/]/.test(k)),
});
const stages = {};
await import('./src/app.ts');
await import('./src/cli.ts');
const { loadConfig } = await import('./src/config.ts');
const { systemClock } = await import('./src/clock.ts');
const { createFileStore } = await import('./src/storage/file-store.ts');
const { createGeneratedDownloads } = await import('./src/generators/generated-downloads.ts');
const media = fs.mkdtempSync(path.join(os.tmpdir(), 'lazy-'));
const generated = createGeneratedDownloads({ config: loadConfig({ MEDIA_ROOT: media }), clock: systemClock, files: createFileStore(media) });
stages.atStart = loaded();
const kind = generated.registry.get('text-overlay');
kind.schema.parse({ text: 'x', x: 0, y: 0, width: 100, height: 100, font: 'dejavu-sans', fontSize: 20, colour: '#000000' });
stages.afterValidating = loaded();
await kind.asset.validate(path.join(media, 'missing.png'), 10).catch(() => undefined);
stages.afterFirstUpload = loaded();
fs.rmSync(media, { recursive: true, force: true });
console.log(JSON.stringify(stages));
`;

test('sharp and fontkit load on first use of a generated download, not at start', () => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(result.stderr).toBe('');
  expect(JSON.parse(result.stdout)).toEqual({
    atStart: { sharp: false, fontkit: false },
    afterValidating: { sharp: false, fontkit: true },
    afterFirstUpload: { sharp: true, fontkit: true },
  });
});
