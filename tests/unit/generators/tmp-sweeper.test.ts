import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { ManualClock } from '../../../src/clock.ts';
import { createGeneratedFileCache } from '../../../src/generators/generated-file-cache.ts';
import { TEMP_FILE_GRACE_MS, startSweeper, sweepGeneratedFiles } from '../../../src/generators/tmp-sweeper.ts';
import { tempDir } from '../../helpers/images.ts';

const HOUR = 3_600_000;
const TTL = 24 * HOUR;

let root: string;
let dir: string;
let clock: ManualClock;
beforeEach(() => {
  root = tempDir('sweeper');
  dir = path.join(root, 'tmp');
  fs.mkdirSync(dir);
  clock = new ManualClock();
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const key = (n: number) => n.toString(16).padStart(64, '0');

/** A file of `size` bytes last used `ageMs` before the clock's now. */
function place(name: string, size: number, ageMs: number, where = dir): string {
  const file = path.join(where, name);
  fs.writeFileSync(file, Buffer.alloc(size));
  const used = new Date(clock.now().getTime() - ageMs);
  fs.utimesSync(file, used, used);
  return name;
}

function sweep(quotaBytes = Infinity) {
  return sweepGeneratedFiles({ dir, ttlMs: TTL, quotaBytes, clock });
}

describe('expiry', () => {
  test('files unused for longer than the TTL are removed; recent ones stay', async () => {
    const old = place(`${key(1)}.jpg`, 100, TTL + 1000);
    const recent = place(`${key(2)}.jpg`, 100, TTL - 1000);
    expect(await sweep()).toEqual({ removed: [old], freedBytes: 100 });
    expect(fs.readdirSync(dir)).toEqual([recent]);
  });

  test('a file served from the cache counts as used', async () => {
    const cache = createGeneratedFileCache({ dir, clock });
    const first = await cache.ensure(key(3), 'jpg', (tmp) => fs.promises.writeFile(tmp, 'x'));
    clock.advance(TTL - HOUR);
    await cache.ensure(key(3), 'jpg', async () => {});
    clock.advance(2 * HOUR);
    expect((await sweep()).removed).toEqual([]);
    expect(fs.existsSync(first.path)).toBe(true);
    clock.advance(TTL);
    expect((await sweep()).removed).toEqual([path.basename(first.path)]);
  });
});

describe('quota', () => {
  test('when over quota, the least recently used go until the folder fits', async () => {
    place(`${key(1)}.jpg`, 400, 5 * HOUR);
    place(`${key(2)}.jpg`, 400, 3 * HOUR);
    place(`${key(3)}.jpg`, 400, 1 * HOUR);
    place(`${key(4)}.jpg`, 400, 2 * HOUR);
    const result = await sweep(1000);
    expect(result).toEqual({ removed: [`${key(1)}.jpg`, `${key(2)}.jpg`], freedBytes: 800 });
    expect(fs.readdirSync(dir).sort()).toEqual([`${key(3)}.jpg`, `${key(4)}.jpg`]);
  });

  test('expired files are removed first, and the quota counts only what is left', async () => {
    place(`${key(1)}.jpg`, 900, TTL + HOUR);
    place(`${key(2)}.jpg`, 500, HOUR);
    expect((await sweep(600)).removed).toEqual([`${key(1)}.jpg`]);
  });
});

describe('what the sweeper touches', () => {
  test('temp files of crashed renders go after a grace period; a render in progress is left alone', async () => {
    const crashed = place(`${key(1)}.0123456789abcdef.tmp.jpg`, 10, TEMP_FILE_GRACE_MS + 1000);
    const rendering = place(`${key(2)}.fedcba9876543210.tmp.jpg`, 10, 1000);
    expect((await sweep()).removed).toEqual([crashed]);
    expect(fs.readdirSync(dir)).toEqual([rendering]);
  });

  test('files it did not write, folders and symlinks stay, and nothing outside the folder is reached', async () => {
    const outside = place('precious.jpg', 10, 10 * TTL, root);
    const foreign = ['README.txt', 'photo.jpg', `${key(1)}.jpg.bak`].map((name) => place(name, 10, 10 * TTL));
    fs.mkdirSync(path.join(dir, `${key(2)}.jpg`));
    fs.symlinkSync(path.join(root, outside), path.join(dir, `${key(3)}.jpg`));
    expect(await sweep(0)).toEqual({ removed: [], freedBytes: 0 });
    expect(fs.readdirSync(dir).sort()).toEqual([...foreign, `${key(2)}.jpg`, `${key(3)}.jpg`].sort());
    expect(fs.existsSync(path.join(root, outside))).toBe(true);
  });

  test('a folder that does not exist yet is nothing to sweep', async () => {
    expect(await sweepGeneratedFiles({ dir: path.join(root, 'never'), ttlMs: TTL, quotaBytes: 0, clock })).toEqual({ removed: [], freedBytes: 0 });
  });
});

describe('periodic sweeping', () => {
  test('sweeps once at start and on demand, logs what it freed, and stops', async () => {
    const log = { info: vi.fn(), error: vi.fn() };
    place(`${key(1)}.jpg`, 50, TTL + 1);
    const sweeper = startSweeper({ dir, ttlMs: TTL, quotaBytes: Infinity, clock, intervalMs: 60_000, log });
    await vi.waitFor(() => expect(fs.readdirSync(dir)).toEqual([]));
    expect(log.info).toHaveBeenCalledWith({ removed: 1, freedBytes: 50 }, 'generated files swept');

    place(`${key(2)}.jpg`, 50, TTL + 1);
    expect((await sweeper.sweepNow())?.removed).toEqual([`${key(2)}.jpg`]);
    sweeper.stop();
    place(`${key(3)}.jpg`, 50, TTL + 1);
    expect(await sweeper.sweepNow()).toBeUndefined();
    expect(fs.readdirSync(dir)).toEqual([`${key(3)}.jpg`]);
  });

  test('a failing sweep is logged, not thrown', async () => {
    const log = { info: vi.fn(), error: vi.fn() };
    const notAFolder = path.join(root, 'file');
    fs.writeFileSync(notAFolder, '');
    const sweeper = startSweeper({ dir: notAFolder, ttlMs: TTL, quotaBytes: Infinity, clock, intervalMs: 60_000, log });
    expect(await sweeper.sweepNow()).toBeUndefined();
    expect(log.error).toHaveBeenCalledWith(expect.objectContaining({ dir: notAFolder }), 'sweeping generated files failed');
    sweeper.stop();
  });

  test('the timer does not keep the process alive', () => {
    const setInterval = vi.spyOn(globalThis, 'setInterval');
    const sweeper = startSweeper({ dir, ttlMs: TTL, quotaBytes: Infinity, clock, intervalMs: 60_000 });
    const timer = setInterval.mock.results[0]!.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    sweeper.stop();
    setInterval.mockRestore();
  });
});
