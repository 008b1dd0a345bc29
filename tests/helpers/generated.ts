/**
 * Generated downloads made the way an upload makes them, through the real services:
 *
 *   const d = await buildOverlay(t, { settings: { text: 'Hi {name}' }, fields: { requiresToken: true } });
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TestApp } from './context.ts';
import { stageFile } from './factories.ts';
import { solidBackground } from './images.ts';

/** Box edges on multiples of 8 (JPEG blocks): outside the box the background comes out unchanged. */
export const OVERLAY_SETTINGS = {
  text: 'Hello {name}',
  x: '96',
  y: '96',
  width: '608',
  height: '240',
  font: 'dejavu-sans',
  fontSize: '40',
  colour: '#FFEE00',
} as const;

let counter = 0;

export async function buildOverlay(
  t: TestApp,
  options: { background?: Buffer; settings?: Record<string, unknown>; fields?: Record<string, unknown> } = {},
) {
  const background = options.background ?? (await solidBackground('png'));
  const staged = await stageFile(t, background, 'background.png');
  try {
    return await t.deps.generatedDownloads.create(
      { title: `Overlay ${++counter}`, state: 'published', ...options.fields },
      { kind: 'text-overlay', ...OVERLAY_SETTINGS, ...options.settings },
      { background: { field: 'background', clientType: 'image/png', ...staged } },
    );
  } finally {
    await t.deps.files.discardStaging(path.dirname(staged.path));
  }
}

/** The generated files in the cache folder. */
export function cachedFiles(t: TestApp): string[] {
  const dir = t.config.generated.dir;
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

/** The staging folders (uploads in progress or left behind). */
export function stagingFolders(t: TestApp): string[] {
  return fs.readdirSync(t.deps.files.stagingRoot);
}
