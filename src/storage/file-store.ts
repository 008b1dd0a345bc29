/**
 * Stored files live under MEDIA_ROOT/downloads/ with server-made names: a key is two hex
 * characters of shard, a slash, and 32 hex characters (`ab/ab34…`). No name from a request, an
 * archive or a manifest ever becomes a path. New files are written to MEDIA_ROOT/.staging/ (the
 * same disk), checked, and renamed into place; a sweeper removes staging left by a crash.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { resolveInside } from '../lib/safe-path.ts';

export const KEY_PATTERN = /^[0-9a-f]{2}\/[0-9a-f]{32}$/;

export interface StoredFileStat {
  size: number;
  mtime: Date;
}

export interface FileStore {
  /** MEDIA_ROOT/downloads */
  readonly root: string;
  /** MEDIA_ROOT/.staging, on the same file system so commits are renames */
  readonly stagingRoot: string;
  /** A new private staging folder (remove it with `discardStaging`). */
  createStaging(): Promise<string>;
  discardStaging(dir: string): Promise<void>;
  /** A path for a new staged file inside a staging folder. */
  stagedPath(dir: string): string;
  /** Moves a staged file into place under a new key. */
  commit(stagedFile: string): Promise<string>;
  pathOf(key: string): string;
  stat(key: string): Promise<StoredFileStat | undefined>;
  remove(key: string): Promise<void>;
  /** Removes staging folders older than maxAgeMs (left by a crash); returns how many. */
  sweepStaging(maxAgeMs: number, now?: Date): Promise<number>;
}

export function isStorageKey(key: unknown): key is string {
  return typeof key === 'string' && KEY_PATTERN.test(key);
}

export function createFileStore(mediaRoot: string): FileStore {
  const root = path.join(mediaRoot, 'downloads');
  const stagingRoot = path.join(mediaRoot, '.staging');
  fs.mkdirSync(root, { recursive: true, mode: 0o755 });
  fs.mkdirSync(stagingRoot, { recursive: true, mode: 0o700 });

  const pathOf = (key: string) => {
    if (!isStorageKey(key)) throw new Error(`not a storage key: ${JSON.stringify(key)}`);
    return resolveInside(root, key);
  };

  return {
    root,
    stagingRoot,
    async createStaging() {
      return fsp.mkdtemp(path.join(stagingRoot, 'st-'));
    },
    async discardStaging(dir) {
      if (path.dirname(path.resolve(dir)) !== path.resolve(stagingRoot)) throw new Error(`not a staging folder: ${dir}`);
      await fsp.rm(dir, { recursive: true, force: true });
    },
    stagedPath(dir) {
      return path.join(dir, crypto.randomBytes(16).toString('hex'));
    },
    async commit(stagedFile) {
      const hex = crypto.randomBytes(16).toString('hex');
      const key = `${hex.slice(0, 2)}/${hex}`;
      const target = pathOf(key);
      await fsp.mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
      // Files must be readable by nginx's workers, whatever umask the upload was written under.
      await fsp.chmod(stagedFile, 0o644);
      await fsp.rename(stagedFile, target);
      return key;
    },
    pathOf,
    async stat(key) {
      try {
        const s = await fsp.stat(pathOf(key));
        return s.isFile() ? { size: s.size, mtime: s.mtime } : undefined;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async remove(key) {
      await fsp.rm(pathOf(key), { force: true });
    },
    async sweepStaging(maxAgeMs, now = new Date()) {
      let removed = 0;
      for (const entry of await fsp.readdir(stagingRoot, { withFileTypes: true })) {
        const full = path.join(stagingRoot, entry.name);
        const s = await fsp.lstat(full).catch(() => undefined);
        if (s && now.getTime() - s.mtimeMs > maxAgeMs) {
          await fsp.rm(full, { recursive: true, force: true });
          removed++;
        }
      }
      return removed;
    },
  };
}
