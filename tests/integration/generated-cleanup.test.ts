/**
 * Cleaning up after generated downloads: files unused for DOWNLOAD_TMP_TTL go, the folder is
 * trimmed to DOWNLOAD_TMP_QUOTA, and staging folders left by a crash go — by
 * `npm run cli -- cleanup` and by the server's own sweeper. Time is a ManualClock where the
 * process can be given one, and file times set in the past where it cannot.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { runCli as runCliInProcess } from '../../src/cli.ts';
import { createGeneratedDownloads } from '../../src/generators/generated-downloads.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { buildOverlay, cachedFiles } from '../helpers/generated.ts';
import { runCli, startServerProcess } from '../helpers/processes.ts';

const HOUR = 3_600_000;

/** `npm run cli -- cleanup` in this process, on the test app's dependencies and clock. */
async function cleanup(t: TestApp): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const io = { out: (line: string) => out.push(line), err: (line: string) => out.push(`stderr: ${line}`), readStdin: async () => '' };
  // The command closes what it was given; the test app closes its own at the end.
  const code = await runCliInProcess(['cleanup'], io, async () => ({ ...t.deps, close: async () => {} }));
  return { code, out };
}

/** A staging folder last written `ageMs` before `now`. */
async function stagingFolder(t: TestApp, now: Date, ageMs: number): Promise<string> {
  const dir = await t.deps.files.createStaging();
  const when = new Date(now.getTime() - ageMs);
  fs.utimesSync(dir, when, when);
  return path.basename(dir);
}

describe('with a controllable clock', () => {
  const clock = new ManualClock(new Date());
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ DOWNLOAD_TMP_TTL: '24h' }, { clock });
  });
  afterAll(() => t?.close());

  test('a file unused for 24 hours is removed, a file used since is kept, and the next request makes it again', async () => {
    const d = await buildOverlay(t);
    const url = (name: string) => `/downloads/${d.slug}/file?name=${name}`;
    await t.http.get(url('Ada')).expect(200);
    const [adaFile] = cachedFiles(t);
    await t.http.get(url('Grace')).expect(200);
    const graceFile = cachedFiles(t).find((f) => f !== adaFile)!;

    clock.advance(23 * HOUR);
    expect((await cleanup(t)).out).toEqual(['Removed 0 generated files (0 B) and 0 stale staging folders']);
    await t.http.get(url('Ada')).expect(200);

    clock.advance(2 * HOUR);
    const size = fs.statSync(path.join(t.config.generated.dir, graceFile)).size;
    const result = await cleanup(t);
    expect(result.code).toBe(0);
    expect(result.out).toEqual([`Removed downloads/tmp/${graceFile}`, `Removed 1 generated file (${(size / 1024).toFixed(1)} KB) and 0 stale staging folders`]);
    expect(cachedFiles(t)).toEqual([adaFile]);

    const again = await t.http.get(url('Grace')).expect(200);
    expect(again.headers.etag).toBe(`"${graceFile.slice(0, 64)}"`);
    expect(cachedFiles(t).sort()).toEqual([adaFile, graceFile].sort());
    expect(Number((await t.db.download.findUniqueOrThrow({ where: { id: d.id } })).downloadCount)).toBe(4);
  });

  test('staging folders older than six hours are removed; younger ones may still be uploads in progress', async () => {
    const old = await stagingFolder(t, clock.now(), 7 * HOUR);
    const young = await stagingFolder(t, clock.now(), 1 * HOUR);
    const result = await cleanup(t);
    expect(result.out.at(-1)).toBe('Removed 0 generated files (0 B) and 1 stale staging folder');
    const left = fs.readdirSync(t.deps.files.stagingRoot);
    expect(left).toContain(young);
    expect(left).not.toContain(old);
  });

  test('over the quota, the least recently used files go first', async () => {
    const d = await buildOverlay(t);
    for (const name of ['First', 'Second', 'Third']) {
      clock.advance(HOUR);
      await t.http.get(`/downloads/${d.slug}/file?name=${name}`).expect(200);
    }
    const byAge = cachedFiles(t)
      .map((name) => ({ name, ...fs.statSync(path.join(t.config.generated.dir, name)) }))
      .sort((a, b) => a.mtimeMs - b.mtimeMs);
    const newestTwo = byAge.slice(-2);
    // The same cleaning as the command's, with a quota that fits the two newest files.
    const quotaBytes = newestTwo.reduce((sum, f) => sum + f.size, 0);
    const generated = createGeneratedDownloads({ config: { generated: { ...t.config.generated, quotaBytes } }, clock, files: t.deps.files });
    const report = await generated.cleanup();
    expect(report.generated.removed.sort()).toEqual(byAge.slice(0, -2).map((f) => f.name).sort());
    expect(cachedFiles(t).sort()).toEqual(newestTwo.map((f) => f.name).sort());
  });
});

describe('as processes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  const env = () => ({ DATABASE_URL: t.config.database.url, MEDIA_ROOT: t.mediaRoot, LOG_LEVEL: 'warn' });

  /** A file in the cache folder last used `ageMs` ago (by the real clock). */
  function place(name: string, ageMs: number, content = 'x'.repeat(2048)) {
    fs.mkdirSync(t.config.generated.dir, { recursive: true });
    const file = path.join(t.config.generated.dir, name);
    fs.writeFileSync(file, content);
    const when = new Date(Date.now() - ageMs);
    fs.utimesSync(file, when, when);
  }

  test('npm run cli -- cleanup removes expired files and stale staging, keeps fresh files and foreign ones, and says so', () => {
    const expired = `${'a'.repeat(64)}.jpg`;
    const fresh = `${'b'.repeat(64)}.jpg`;
    const crashed = `${'c'.repeat(64)}.0123456789abcdef.tmp.jpg`;
    place(expired, 25 * HOUR);
    place(fresh, HOUR);
    place(crashed, HOUR);
    place('notes.txt', 100 * HOUR);
    const staging = fs.mkdtempSync(path.join(t.deps.files.stagingRoot, 'st-'));
    const when = new Date(Date.now() - 7 * HOUR);
    fs.utimesSync(staging, when, when);

    const result = runCli(['cleanup'], env());
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.split('\n').filter(Boolean).sort()).toEqual(
      [`Removed downloads/tmp/${crashed}`, `Removed downloads/tmp/${expired}`, 'Removed 2 generated files (4.0 KB) and 1 stale staging folder'].sort(),
    );
    expect(cachedFiles(t)).toEqual([fresh, 'notes.txt'].sort());
    expect(fs.existsSync(staging)).toBe(false);
  });

  test('cleanup takes no arguments', () => {
    const result = runCli(['cleanup', '--all'], env());
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('cleanup takes no arguments');
  });

  test('the server sweeps at start and then every DOWNLOAD_TMP_SWEEP_INTERVAL, and stops with the server', async () => {
    place(`${'d'.repeat(64)}.jpg`, 2 * HOUR);
    const server = await startServerProcess({ ...env(), LOG_LEVEL: 'info', DOWNLOAD_TMP_TTL: '1h', DOWNLOAD_TMP_SWEEP_INTERVAL: '1s' });
    try {
      await waitUntil(() => !cachedFiles(t).includes(`${'d'.repeat(64)}.jpg`));
      place(`${'e'.repeat(64)}.jpg`, 2 * HOUR);
      place(`${'f'.repeat(64)}.jpg`, 0);
      await waitUntil(() => !cachedFiles(t).includes(`${'e'.repeat(64)}.jpg`));
      expect(cachedFiles(t)).toContain(`${'f'.repeat(64)}.jpg`);
      expect(server.output()).toContain('generated files swept');
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the sweeper');
    await sleep(50);
  }
}
