import crypto from 'node:crypto';
import fs from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FileStore } from './file-store.ts';

/** Copies a local file into a staging folder, measuring and hashing it on the way. */
export async function stageCopy(store: FileStore, stagingDir: string, source: string) {
  const target = store.stagedPath(stagingDir);
  const hash = crypto.createHash('sha256');
  let size = 0;
  await pipeline(
    fs.createReadStream(source),
    new Transform({
      transform(chunk: Buffer, _enc, next) {
        hash.update(chunk);
        size += chunk.length;
        next(null, chunk);
      },
    }),
    fs.createWriteStream(target, { flags: 'wx', mode: 0o600 }),
  );
  return { path: target, size, sha256: hash.digest('hex') };
}
