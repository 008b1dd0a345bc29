/**
 * Derives prisma/postgres/schema.prisma from prisma/schema.prisma (the source of truth): only the
 * provider, the client output folder and the header differ. `--check` exits 1 instead of writing
 * when the derived file is stale (used by the drift test and CI).
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config.ts';

export const SOURCE = path.join(PROJECT_ROOT, 'prisma', 'schema.prisma');
export const DERIVED = path.join(PROJECT_ROOT, 'prisma', 'postgres', 'schema.prisma');

export function derivePostgresSchema(source: string): string {
  const replace = (text: string, from: RegExp, to: string) => {
    if (!from.test(text)) throw new Error(`schema.prisma no longer contains ${from}`);
    return text.replace(from, to);
  };
  let out = source;
  out = replace(out, /provider(\s*)= "sqlite"/, 'provider$1= "postgresql"');
  out = replace(out, /url(\s*)= "file:\.\/unused\.db"/, 'url$1= "postgresql://localhost/unused"');
  out = replace(out, /output(\s*)= "\.\.\/src\/generated\/sqlite"/, 'output$1= "../../src/generated/postgres"');
  const header =
    '// GENERATED from prisma/schema.prisma by `npm run db:sync-schemas`. Do not edit by hand.\n';
  return header + out;
}

function main() {
  const expected = derivePostgresSchema(fs.readFileSync(SOURCE, 'utf8'));
  const current = fs.existsSync(DERIVED) ? fs.readFileSync(DERIVED, 'utf8') : '';
  if (process.argv.includes('--check')) {
    if (current !== expected) {
      console.error('prisma/postgres/schema.prisma is stale: run `npm run db:sync-schemas`');
      process.exit(1);
    }
    return;
  }
  fs.mkdirSync(path.dirname(DERIVED), { recursive: true });
  fs.writeFileSync(DERIVED, expected);
  console.log(`wrote ${path.relative(PROJECT_ROOT, DERIVED)}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) main();
