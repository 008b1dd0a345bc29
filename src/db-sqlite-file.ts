import fs from 'node:fs';
import path from 'node:path';

/** SQLite creates the file but not its folder; make the folder so a fresh clone just starts. */
export function prepareSqliteFile(file: string): void {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
}
