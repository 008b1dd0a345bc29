/**
 * Test data through the real services: `buildDownload(t, { title: 'Tool', labels: 'Type:Installer' })`
 * writes a real file into staging and creates the download the way an upload would.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { TestApp } from './context.ts';

let counter = 0;

export interface StagedTestFile {
  path: string;
  size: number;
  sha256: string;
  originalName: string;
}

/** A file in a new staging folder of the app's store, as the upload middleware would leave it. */
export async function stageFile(t: TestApp, content: Buffer | string, originalName = 'file.bin'): Promise<StagedTestFile> {
  const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
  const dir = await t.deps.files.createStaging();
  const file = t.deps.files.stagedPath(dir);
  fs.writeFileSync(file, data);
  return { path: file, size: data.length, sha256: crypto.createHash('sha256').update(data).digest('hex'), originalName };
}

export async function buildDownload(
  t: TestApp,
  overrides: Record<string, unknown> & { content?: Buffer | string; originalName?: string } = {},
) {
  const { content, originalName, ...fields } = overrides;
  const n = ++counter;
  const remote = typeof fields.remoteUrl === 'string';
  const file = remote ? undefined : await stageFile(t, content ?? `content of file ${n}\n`, originalName ?? `file-${n}.txt`);
  return t.deps.downloads.create({ title: `Download ${n}`, state: 'published', ...fields }, file);
}

/** All files under a folder, relative, for "nothing was left behind" checks. */
export function listFiles(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(path.relative(root, full));
    }
  };
  walk(root);
  return out.sort();
}
