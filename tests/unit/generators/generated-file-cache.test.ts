import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { ManualClock } from '../../../src/clock.ts';
import { tooManyRequests } from '../../../src/errors.ts';
import {
  cacheKey,
  canonicalJson,
  createGeneratedFileCache,
  createRenderRateLimiter,
  createSemaphore,
} from '../../../src/generators/generated-file-cache.ts';
import { tempDir } from '../../helpers/images.ts';

const KIND = { name: 'text-overlay', version: 1 };
const KEY = cacheKey(KIND, { text: 'hi' }, 'a'.repeat(64), { text: 'hi' });

let root: string;
let dir: string;
let clock: ManualClock;
beforeEach(() => {
  root = tempDir('cache');
  dir = path.join(root, 'downloads', 'tmp');
  clock = new ManualClock();
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const writes = (content: string) => async (tmpPath: string) => fs.promises.writeFile(tmpPath, content);

describe('cache key', () => {
  test('is a sha256 hex that ignores the order of settings keys', () => {
    const a = cacheKey(KIND, { x: 1, y: { b: 2, a: 1 } }, 'f'.repeat(64), { text: 'Ada' });
    const b = cacheKey(KIND, { y: { a: 1, b: 2 }, x: 1 }, 'f'.repeat(64), { text: 'Ada' });
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).toBe(b);
  });

  test.each([
    ['the kind', () => cacheKey({ ...KIND, name: 'other' }, { text: 'hi' }, 'a'.repeat(64), { text: 'hi' })],
    ['the kind’s version', () => cacheKey({ ...KIND, version: 2 }, { text: 'hi' }, 'a'.repeat(64), { text: 'hi' })],
    ['a setting', () => cacheKey(KIND, { text: 'ho' }, 'a'.repeat(64), { text: 'hi' })],
    ['the asset', () => cacheKey(KIND, { text: 'hi' }, 'b'.repeat(64), { text: 'hi' })],
    ['no asset', () => cacheKey(KIND, { text: 'hi' }, undefined, { text: 'hi' })],
    ['the inputs', () => cacheKey(KIND, { text: 'hi' }, 'a'.repeat(64), { text: 'Ada' })],
  ])('changes with %s', (_case, other) => {
    expect(other()).not.toBe(KEY);
  });

  test('canonical JSON sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: [3, { z: 1, a: 2 }], a: null })).toBe('{"a":null,"b":[3,{"a":2,"z":1}]}');
  });
});

describe('ensure', () => {
  test('renders a missing file into <dir>/<key>.<ext>, creating the folder readable by others', async () => {
    const cache = createGeneratedFileCache({ dir, clock });
    const result = await cache.ensure(KEY, 'jpg', writes('pixels'));
    expect(result).toEqual({ path: path.join(dir, `${KEY}.jpg`), size: 6, mtime: clock.now(), created: true });
    expect(fs.readFileSync(result.path, 'utf8')).toBe('pixels');
    expect(fs.statSync(dir).mode & 0o777).toBe(0o755);
    expect(fs.statSync(result.path).mode & 0o777).toBe(0o644);
    expect(fs.readdirSync(dir)).toEqual([`${KEY}.jpg`]);
  });

  test('a second identical ensure reuses the file and marks it used now', async () => {
    const cache = createGeneratedFileCache({ dir, clock });
    const render = vi.fn(writes('pixels'));
    await cache.ensure(KEY, 'jpg', render);
    clock.advance(3_600_000);
    const again = await cache.ensure(KEY, 'jpg', render);
    expect(render).toHaveBeenCalledTimes(1);
    expect(again.created).toBe(false);
    expect(fs.statSync(again.path).mtimeMs).toBe(clock.now().getTime());
  });

  test('concurrent identical ensures render once and share the file', async () => {
    const cache = createGeneratedFileCache({ dir, clock });
    const gate = deferred();
    const render = vi.fn(async (tmpPath: string) => {
      await gate.promise;
      await fs.promises.writeFile(tmpPath, 'pixels');
    });
    const all = Promise.all([1, 2, 3, 4].map(() => cache.ensure(KEY, 'jpg', render)));
    await new Promise((r) => setTimeout(r, 20));
    gate.resolve();
    const results = await all;
    expect(render).toHaveBeenCalledTimes(1);
    expect(new Set(results.map((r) => r.path)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  test('a failing render leaves nothing behind, reaches every waiting caller, and is retried next time', async () => {
    const cache = createGeneratedFileCache({ dir, clock });
    const failing = async (tmpPath: string) => {
      await fs.promises.writeFile(tmpPath, 'half a fi');
      throw new Error('encoder crashed');
    };
    const results = await Promise.allSettled([cache.ensure(KEY, 'jpg', failing), cache.ensure(KEY, 'jpg', failing)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(fs.readdirSync(dir)).toEqual([]);
    expect((await cache.ensure(KEY, 'jpg', writes('ok'))).created).toBe(true);
  });

  test('a render that writes no file is an error, not an empty success', async () => {
    const cache = createGeneratedFileCache({ dir, clock });
    await expect(cache.ensure(KEY, 'jpg', async () => {})).rejects.toThrow();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('no more renders than maxConcurrentRenders run at once', async () => {
    const cache = createGeneratedFileCache({ dir, clock, maxConcurrentRenders: 2 });
    let active = 0;
    let peak = 0;
    const render = async (tmpPath: string) => {
      peak = Math.max(peak, ++active);
      await new Promise((r) => setTimeout(r, 15));
      active--;
      await fs.promises.writeFile(tmpPath, 'x');
    };
    const keys = ['1', '2', '3', '4', '5'].map((n) => cacheKey(KIND, { n }, null, null));
    await Promise.all(keys.map((key) => cache.ensure(key, 'jpg', render)));
    expect(peak).toBe(2);
    expect(fs.readdirSync(dir)).toHaveLength(5);
  });

  test('beforeRender runs only when this call starts a render, and can stop it', async () => {
    const cache = createGeneratedFileCache({ dir, clock });
    const beforeRender = vi.fn();
    await cache.ensure(KEY, 'jpg', writes('x'), { beforeRender });
    await cache.ensure(KEY, 'jpg', writes('x'), { beforeRender });
    expect(beforeRender).toHaveBeenCalledTimes(1);

    const other = cacheKey(KIND, { text: 'other' }, null, null);
    const render = vi.fn(writes('x'));
    const refuse = () => {
      throw tooManyRequests();
    };
    await expect(cache.ensure(other, 'jpg', render, { beforeRender: refuse })).rejects.toMatchObject({ status: 429 });
    expect(render).not.toHaveBeenCalled();
  });

  test.each([
    ['a key that is not a sha256', '../../etc/passwd', 'jpg'],
    ['an extension with a slash', KEY, 'jpg/../x'],
  ])('%s is refused before touching the disk', async (_case, key, extension) => {
    const cache = createGeneratedFileCache({ dir, clock });
    await expect(cache.ensure(key, extension, writes('x'))).rejects.toThrow(/invalid/);
    expect(fs.existsSync(dir)).toBe(false);
  });
});

describe('last-used times and what the cache remembers', () => {
  test('hits within a minute of the last touch leave the mtime alone; later ones move it', async () => {
    const cache = createGeneratedFileCache({ dir, clock });
    const first = await cache.ensure(KEY, 'jpg', writes('pixels'));
    clock.advance(30_000);
    expect((await cache.ensure(KEY, 'jpg', writes('pixels'))).mtime).toEqual(first.mtime);
    expect(fs.statSync(first.path).mtimeMs).toBe(first.mtime.getTime());
    clock.advance(31_000);
    const later = await cache.ensure(KEY, 'jpg', writes('pixels'));
    expect(later.mtime).toEqual(clock.now());
    expect(fs.statSync(first.path).mtimeMs).toBe(clock.now().getTime());
  });

  test('a file removed behind its back is rendered again once forgotten, or a second later', async () => {
    const cache = createGeneratedFileCache({ dir, clock });
    const render = vi.fn(writes('pixels'));
    const file = await cache.ensure(KEY, 'jpg', render);
    fs.rmSync(file.path);
    cache.forgetSeen();
    expect((await cache.ensure(KEY, 'jpg', render)).created).toBe(true);
    fs.rmSync(file.path);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await cache.ensure(KEY, 'jpg', render)).created).toBe(true);
    expect(render).toHaveBeenCalledTimes(3);
  });

  test('withRenderSlot shares the render slots with ensure', async () => {
    const cache = createGeneratedFileCache({ dir, clock, maxConcurrentRenders: 1 });
    const gate = deferred();
    const order: string[] = [];
    const preview = cache.withRenderSlot(async () => {
      await gate.promise;
      order.push('preview');
    });
    const rendered = cache.ensure(KEY, 'jpg', async (tmp) => {
      order.push('render');
      await fs.promises.writeFile(tmp, 'x');
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([]);
    gate.resolve();
    await Promise.all([preview, rendered]);
    expect(order).toEqual(['preview', 'render']);
  });
});

describe('semaphore', () => {
  test('hands slots out in order and a release only counts once', async () => {
    const semaphore = createSemaphore(1);
    const order: number[] = [];
    const first = await semaphore.acquire();
    const second = semaphore.acquire().then((release) => (order.push(2), release));
    const third = semaphore.acquire().then((release) => (order.push(3), release));
    first();
    first();
    (await second)();
    (await third)();
    expect(order).toEqual([2, 3]);
  });
});

describe('render rate limit', () => {
  test('a client gets perMinute renders, then one more every 60/perMinute seconds', () => {
    const limiter = createRenderRateLimiter({ perMinute: 3, clock });
    expect([1, 2, 3, 4].map(() => limiter.allow('10.0.0.1'))).toEqual([true, true, true, false]);
    expect(limiter.retryAfterSeconds('10.0.0.1')).toBe(20);
    clock.advance(20_000);
    expect([limiter.allow('10.0.0.1'), limiter.allow('10.0.0.1')]).toEqual([true, false]);
  });

  test('clients are counted separately', () => {
    const limiter = createRenderRateLimiter({ perMinute: 1, clock });
    expect([limiter.allow('a'), limiter.allow('b'), limiter.allow('a')]).toEqual([true, true, false]);
    expect(limiter.retryAfterSeconds('b')).toBe(60);
    expect(limiter.retryAfterSeconds('c')).toBe(0);
  });

  test('perMinute 0 means no limit', () => {
    const limiter = createRenderRateLimiter({ perMinute: 0, clock });
    expect(Array.from({ length: 1000 }, () => limiter.allow('a')).every(Boolean)).toBe(true);
  });

  test('memory stays bounded when many clients appear', () => {
    const limiter = createRenderRateLimiter({ perMinute: 1, clock, maxClients: 10 });
    for (let i = 0; i < 1000; i++) limiter.allow(`client-${i}`);
    // The most recent clients are still limited; the oldest were forgotten.
    expect(limiter.allow('client-999')).toBe(false);
    expect(limiter.allow('client-0')).toBe(true);
  });
});
