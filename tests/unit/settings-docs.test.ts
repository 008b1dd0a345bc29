import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { PROJECT_ROOT, settingNames } from '../../src/config.ts';

const read = (file: string) => fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8');

test('.env.example documents every setting the app reads', () => {
  const documented = new Set([...read('.env.example').matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
  const missing = settingNames.filter((name) => name !== 'NODE_ENV' && !documented.has(name));
  expect(missing).toEqual([]);
});

test('the README settings table lists every setting the app reads', () => {
  const readme = read('README.md');
  const missing = settingNames.filter((name) => name !== 'NODE_ENV' && !readme.includes(`\`${name}\``));
  expect(missing).toEqual([]);
});
