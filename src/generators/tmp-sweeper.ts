/**
 * Cleans the generated-files folder: files not used for `ttlMs` go, then the least recently used
 * until the folder fits `quotaBytes`, and renders that crashed half-way. "Used" is the mtime,
 * which generated-file-cache.ts touches on every hit.
 *
 * Only names the cache itself writes are considered, entries are looked at with lstat and only
 * regular files are removed: a symlink, a folder or a file of someone else's placed there (or a
 * setting pointing at the wrong folder) is left alone, and nothing outside the folder is reached.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.ts';
import { CACHED_FILE_NAME, TEMP_FILE_NAME } from './generated-file-cache.ts';

/** Setting DOWNLOAD_TMP_TTL. */
export const DEFAULT_TTL_MS = 24 * 3_600_000;
/** Setting DOWNLOAD_TMP_QUOTA. */
export const DEFAULT_QUOTA_BYTES = 1024 ** 3;
/** Setting DOWNLOAD_TMP_SWEEP_INTERVAL. */
export const DEFAULT_SWEEP_INTERVAL_MS = 10 * 60_000;
/** Renders are stopped by a timeout of seconds: a temp file this old belongs to a crashed one. */
export const TEMP_FILE_GRACE_MS = 10 * 60_000;

export interface SweepOptions {
  dir: string;
  ttlMs: number;
  /** Infinity for no quota. */
  quotaBytes: number;
  clock: Clock;
}

export interface SweepResult {
  /** File names (not paths) that were removed. */
  removed: string[];
  freedBytes: number;
}

interface Entry {
  name: string;
  size: number;
  mtimeMs: number;
}

export async function sweepGeneratedFiles(options: SweepOptions): Promise<SweepResult> {
  const now = options.clock.now().getTime();
  const result: SweepResult = { removed: [], freedBytes: 0 };
  const finished: Entry[] = [];
  let names: string[];
  try {
    names = await fs.readdir(options.dir);
  } catch (error) {
    // Nothing rendered yet: the cache creates the folder on its first render.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return result;
    throw error;
  }

  for (const name of names) {
    const isTemp = TEMP_FILE_NAME.test(name);
    if (!isTemp && !CACHED_FILE_NAME.test(name)) continue;
    const entry = await regularFile(options.dir, name);
    if (!entry) continue;
    const expired = isTemp ? entry.mtimeMs < now - TEMP_FILE_GRACE_MS : entry.mtimeMs < now - options.ttlMs;
    if (expired) await remove(options.dir, entry, result);
    else if (!isTemp) finished.push(entry);
  }

  let total = finished.reduce((sum, entry) => sum + entry.size, 0);
  if (total > options.quotaBytes) {
    finished.sort((a, b) => a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name));
    for (const entry of finished) {
      if (total <= options.quotaBytes) break;
      if (await remove(options.dir, entry, result)) total -= entry.size;
    }
  }
  return result;
}

async function regularFile(dir: string, name: string): Promise<Entry | undefined> {
  try {
    const stats = await fs.lstat(path.join(dir, name));
    return stats.isFile() ? { name, size: stats.size, mtimeMs: stats.mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the file unless it was used (or replaced) since it was looked at. */
async function remove(dir: string, entry: Entry, result: SweepResult): Promise<boolean> {
  const now = await regularFile(dir, entry.name);
  if (!now || now.mtimeMs !== entry.mtimeMs) return false;
  try {
    await fs.unlink(path.join(dir, entry.name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  result.removed.push(entry.name);
  result.freedBytes += entry.size;
  return true;
}

export interface SweeperLogger {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface SweeperOptions extends SweepOptions {
  intervalMs: number;
  /** A pino logger fits. */
  log?: SweeperLogger;
  /** More cleaning in the same tick (stale staging folders); its failure is logged like the sweep's. */
  afterSweep?(result: SweepResult): Promise<void> | void;
}

/** Sweeps now and then every `intervalMs`, in this process; never two sweeps at once. */
export function startSweeper(options: SweeperOptions): { stop(): void; sweepNow(): Promise<SweepResult | undefined> } {
  let running: Promise<SweepResult | undefined> | undefined;
  let stopped = false;

  const sweepNow = () => {
    if (stopped) return Promise.resolve(undefined);
    running ??= sweepGeneratedFiles(options)
      .then(async (result) => {
        if (result.removed.length) options.log?.info({ removed: result.removed.length, freedBytes: result.freedBytes }, 'generated files swept');
        await options.afterSweep?.(result);
        return result;
      })
      .catch((error: unknown) => {
        // A failed sweep is retried at the next tick; it must not take the server down.
        options.log?.error({ err: error, dir: options.dir }, 'sweeping generated files failed');
        return undefined;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  // unref: a pending sweep must not keep the process alive at shutdown.
  const timer = setInterval(() => void sweepNow(), options.intervalMs);
  timer.unref();
  const first = setTimeout(() => void sweepNow(), 0);
  first.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(first);
    },
    sweepNow,
  };
}
