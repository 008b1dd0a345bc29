/**
 * Content-addressed store of generated files: `<dir>/<sha256 of the inputs>.<ext>`. The same
 * inputs give the same file, so a request either reuses it or renders it once (the seed rendered
 * a new file on every request and never cleaned up; tmp-sweeper.ts does the cleaning here).
 * A file's mtime is its "last used" time, which the sweeper reads.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.ts';
import type { GeneratorContext, GeneratorKind } from './generator-registry.ts';

/** Setting RENDER_CONCURRENCY: renders are CPU-bound and the machine has two cores. */
export const DEFAULT_MAX_CONCURRENT_RENDERS = 2;

/** What the sweeper may delete: finished files and unfinished renders, nothing else in the dir. */
export const CACHED_FILE_NAME = /^[0-9a-f]{64}\.[a-z0-9]{1,10}$/;
export const TEMP_FILE_NAME = /^[0-9a-f]{64}\.[0-9a-f]{16}\.tmp\.[a-z0-9]{1,10}$/;

const EXTENSION = /^[a-z0-9]{1,10}$/;

/**
 * sha256 (hex) of everything that decides the output. Settings are serialised with sorted keys,
 * so the order the admin form or the database returns them in does not split the cache.
 */
export function cacheKey(
  kind: Pick<GeneratorKind<unknown>, 'name' | 'version'>,
  settings: unknown,
  assetSha256: string | null | undefined,
  inputs: unknown,
): string {
  const canonical = canonicalJson({ kind: kind.name, version: kind.version, settings, asset: assetSha256 ?? null, inputs: inputs ?? null });
  return createHash('sha256').update(canonical).digest('hex');
}

/** JSON with object keys sorted at every depth. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(item).sort()) sorted[key] = (item as Record<string, unknown>)[key];
    return sorted;
  });
}

export interface CachedFile {
  path: string;
  size: number;
  /** Last used: the file's mtime, as set by the cache (the sweeper reads it). */
  mtime: Date;
  /** True only for the request that rendered it. */
  created: boolean;
}

/**
 * A hit seen on disk this recently (real time) is trusted without another lstat, as the serve
 * path trusts a stored file's stat for a second (serving/file-target.ts)...
 */
const SEEN_FRESH_MS = 1000;
/**
 * ...and its "last used" time is written at most this often (clock time): the sweeper measures
 * a day, and one utimes per request would be most of a hit's cost.
 */
const TOUCH_EVERY_MS = 60_000;

export interface EnsureOptions {
  /**
   * Called only when this call is about to start a render (not on a hit, nor when joining a
   * render already running); throwing from it (e.g. a 429 from the rate limiter) stops it.
   */
  beforeRender?(): void;
}

export interface GeneratedFileCache {
  readonly dir: string;
  /**
   * The file for `key`, rendered by `render(tmpPath)` if it is not there yet. Identical calls in
   * flight share one render; at most `maxConcurrentRenders` renders run at once. If the render
   * fails, its error is thrown and nothing is left behind.
   */
  ensure(key: string, extension: string, render: (tmpPath: string) => Promise<void>, options?: EnsureOptions): Promise<CachedFile>;
  pathFor(key: string, extension: string): string;
  /** Runs `work` in one of the render slots (renders outside the cache, e.g. an admin preview). */
  withRenderSlot<T>(work: () => Promise<T>): Promise<T>;
  /** Forgets what was seen on disk (after a sweep removed files). */
  forgetSeen(): void;
}

export interface GeneratedFileCacheOptions {
  dir: string;
  clock: Clock;
  maxConcurrentRenders?: number;
}

export function createGeneratedFileCache(options: GeneratedFileCacheOptions): GeneratedFileCache {
  const { dir, clock } = options;
  const renderSlots = createSemaphore(options.maxConcurrentRenders ?? DEFAULT_MAX_CONCURRENT_RENDERS);
  const inFlight = new Map<string, Promise<CachedFile>>();
  const seen = new Map<string, { size: number; mtime: Date; at: number }>();
  let dirReady: Promise<unknown> | undefined;

  const remember = (file: string, size: number, mtime: Date) => {
    if (seen.size >= 10_000) seen.clear();
    seen.set(file, { size, mtime, at: performance.now() });
  };

  const pathFor = (key: string, extension: string) => {
    // Keys and extensions become file names: anything else is a bug in the caller, not input.
    if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`invalid cache key "${key}"`);
    if (!EXTENSION.test(extension)) throw new Error(`invalid extension "${extension}"`);
    return path.join(dir, `${key}.${extension}`);
  };

  async function reuse(file: string): Promise<CachedFile | undefined> {
    const now = clock.now();
    const known = seen.get(file);
    if (known && performance.now() - known.at < SEEN_FRESH_MS && now.getTime() - known.mtime.getTime() < TOUCH_EVERY_MS) {
      return { path: file, size: known.size, mtime: known.mtime, created: false };
    }
    try {
      const stats = await fs.lstat(file);
      if (!stats.isFile()) return undefined;
      let mtime = stats.mtime;
      if (now.getTime() - mtime.getTime() >= TOUCH_EVERY_MS || now < mtime) {
        await fs.utimes(file, now, now);
        mtime = now;
      }
      remember(file, stats.size, mtime);
      return { path: file, size: stats.size, mtime, created: false };
    } catch (error) {
      seen.delete(file);
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async function renderInto(key: string, extension: string, file: string, render: (tmpPath: string) => Promise<void>): Promise<CachedFile> {
    // Created by us, writable by us and readable by the web server, whatever the umask: the
    // seed's tmp folder was created unusable. A folder that already exists is left as it is.
    dirReady ??= fs
      .mkdir(dir, { recursive: true, mode: 0o755 })
      .then((created) => (created ? fs.chmod(dir, 0o755) : undefined))
      .catch((error: unknown) => {
        dirReady = undefined;
        throw error;
      });
    await dirReady;
    const release = await renderSlots.acquire();
    // Same directory as the final name, so the rename is atomic and readers never see half a file.
    const tmp = path.join(dir, `${key}.${randomBytes(8).toString('hex')}.tmp.${extension}`);
    try {
      // Another process sharing the directory may have finished it while we queued.
      const existing = await reuse(file);
      if (existing) return existing;
      await render(tmp);
      const now = clock.now();
      // Readable by the web server that may serve it; the kind decides nothing about that.
      await fs.chmod(tmp, 0o644);
      await fs.utimes(tmp, now, now);
      await fs.rename(tmp, file);
      const stats = await fs.stat(file);
      remember(file, stats.size, now);
      return { path: file, size: stats.size, mtime: now, created: true };
    } catch (error) {
      await fs.rm(tmp, { force: true });
      throw error;
    } finally {
      release();
    }
  }

  return {
    dir,
    pathFor,
    async withRenderSlot(work) {
      const release = await renderSlots.acquire();
      try {
        return await work();
      } finally {
        release();
      }
    },
    forgetSeen: () => seen.clear(),
    async ensure(key, extension, render, ensureOptions) {
      const file = pathFor(key, extension);
      const pending = inFlight.get(file);
      if (pending) return { ...(await pending), created: false };
      const existing = await reuse(file);
      if (existing) return existing;
      // Checked again: another call may have started the render while we looked at the disk.
      const started = inFlight.get(file);
      if (started) return { ...(await started), created: false };
      ensureOptions?.beforeRender?.();
      const job = renderInto(key, extension, file, render).finally(() => inFlight.delete(file));
      inFlight.set(file, job);
      return job;
    },
  };
}

/** The cached file for a generated download, rendered by its kind on a miss. */
export async function ensureGeneratedFile<S>(
  cache: GeneratedFileCache,
  kind: GeneratorKind<S>,
  ctx: GeneratorContext<S>,
  options?: EnsureOptions,
): Promise<CachedFile & { key: string }> {
  const key = cacheKey(kind, ctx.settings, ctx.asset?.sha256, kind.cacheInputs?.(ctx));
  const file = await cache.ensure(key, kind.extension, (tmpPath) => kind.createFile(tmpPath, ctx), options);
  return { ...file, key };
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** A counting semaphore, first come first served. */
export function createSemaphore(limit: number): { acquire(): Promise<() => void> } {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`a semaphore needs a positive whole limit, got ${limit}`);
  let active = 0;
  const waiting: Array<() => void> = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  return {
    acquire() {
      if (active < limit) {
        active++;
        return Promise.resolve(once(release));
      }
      // The slot passes straight to the next waiter, so `active` stays as it is.
      return new Promise((resolve) => waiting.push(() => resolve(once(release))));
    },
  };
}

function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (!called) {
      called = true;
      fn();
    }
  };
}

export interface RenderRateLimiter {
  /** Takes one render from the client's allowance; false when it has none left. */
  allow(clientKey: string): boolean;
  /** Seconds until the client may render again (0 when it may now): for a Retry-After header. */
  retryAfterSeconds(clientKey: string): number;
}

/**
 * Per-client limit on cache misses (setting RENDER_RATE_LIMIT, renders per minute; 0 = no limit).
 * Only misses are counted because only they cost CPU. A token bucket: a client may spend its
 * whole minute at once, then gets one render back every 60/perMinute seconds.
 */
export function createRenderRateLimiter(options: { perMinute: number; clock: Clock; maxClients?: number }): RenderRateLimiter {
  const { perMinute, clock } = options;
  const maxClients = options.maxClients ?? 10_000;
  const refillPerMs = perMinute / 60_000;
  const buckets = new Map<string, { tokens: number; at: number }>();

  const current = (clientKey: string) => {
    const now = clock.now().getTime();
    const bucket = buckets.get(clientKey);
    if (!bucket) return { tokens: perMinute, at: now };
    return { tokens: Math.min(perMinute, bucket.tokens + (now - bucket.at) * refillPerMs), at: now };
  };

  const makeRoom = () => {
    for (const [key] of buckets) if (current(key).tokens >= perMinute) buckets.delete(key);
    // Still full (many clients at once): forget the longest-known ones, which errs on allowing.
    for (const [key] of buckets) {
      if (buckets.size < maxClients) break;
      buckets.delete(key);
    }
  };

  return {
    allow(clientKey) {
      if (perMinute <= 0) return true;
      const bucket = current(clientKey);
      if (bucket.tokens < 1) return false;
      // A full bucket is the same as no bucket, so idle clients cost no memory once swept.
      if (buckets.size >= maxClients && !buckets.has(clientKey)) makeRoom();
      // Re-inserted so the map's order is least recently seen first, for makeRoom.
      buckets.delete(clientKey);
      buckets.set(clientKey, { tokens: bucket.tokens - 1, at: bucket.at });
      return true;
    },
    retryAfterSeconds(clientKey) {
      if (perMinute <= 0) return 0;
      const { tokens } = current(clientKey);
      return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / refillPerMs / 1000);
    },
  };
}
