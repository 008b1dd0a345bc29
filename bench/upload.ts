/**
 * Upload benchmark: a large file through the JSON API (multipart, streamed to staging with its
 * SHA-256 computed on the way, then renamed into place), next to a plain `cp` of the same file
 * on the same disk, with the server's peak resident memory.
 *
 * Each run starts a fresh server (through scripts/start-server.sh, as `npm start` does); the
 * throughputs are medians, the peak is the highest of the runs.
 *
 *   node --import tsx bench/upload.ts [--size 1G] [--runs 3] [--keep]
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../src/config.ts';
import { benchOutDir, median, peakRssMb, resetPeakRss, seconds, settle } from './lib/tools.ts';
import { freePort } from '../tests/helpers/nginx.ts';
import { runCli, startServerProcess } from '../tests/helpers/processes.ts';

const { values: args } = parseArgs({
  options: { size: { type: 'string', default: '1G' }, runs: { type: 'string', default: '3' }, keep: { type: 'boolean', default: false } },
});
const runs = Number(args.runs);
if (!(runs > 0)) throw new Error('--runs N');
const match = /^(\d+)([kmg]?)$/i.exec(args.size!);
if (!match) throw new Error('--size: like 1G or 256M');
const size = Number(match[1]) * ({ k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2]!.toLowerCase()] ?? 1);

const dir = benchOutDir('upload');
const source = path.join(dir, 'upload.bin');
const env = {
  DATABASE_URL: `file:${path.join(dir, 'bench.db')}`,
  MEDIA_ROOT: path.join(dir, 'media'),
  UPLOAD_MAX_BYTES: String(size + 1024 ** 2),
  SESSION_SECRET: crypto.randomBytes(32).toString('hex'),
  LOG_LEVEL: 'warn',
};

try {
  // Random data: no compression anywhere could make the numbers look better than they are.
  const fd = fs.openSync(source, 'w');
  for (let written = 0; written < size; written += 16 * 1024 * 1024) fs.writeSync(fd, crypto.randomBytes(Math.min(16 * 1024 * 1024, size - written)));
  fs.closeSync(fd);
  execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'prisma-cli.cjs'), 'migrate', 'deploy'], { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: 'ignore' });
  runCli(['user:create', '--username', 'bench', '--password', 'bench-password', '--role', 'editor'], env);
  const key = runCli(['apikey:create', '--username', 'bench'], env).stdout.trim().split('\n').at(-1)!;

  execFileSync('npm', ['run', 'build', '--silent'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  const results: { cpSeconds: number; uploadSeconds: number; peak: number; before: number }[] = [];
  for (let run = 0; run < runs; run++) {
    const server = await startServerProcess({ ...env, PORT: String(await freePort()) }, { compiled: true });
    try {
      // A server that has been up a while, like the one users upload to (see settle).
      await settle();
      resetPeakRss(server.child.pid!);
      const before = peakRssMb(server.child.pid!);
      // Warm the page cache for both contenders alike.
      execFileSync('cat', [source], { stdio: ['ignore', 'ignore', 'ignore'], maxBuffer: 0 });
      const [, cpSeconds] = seconds(() => execFileSync('cp', [source, path.join(dir, 'copy.bin')]));
      fs.rmSync(path.join(dir, 'copy.bin'));
      const [output, uploadSeconds] = seconds(() =>
        execFileSync('curl', ['-sS', '-f', '-H', `Authorization: Bearer ${key}`, '-F', `title=Bench upload ${run}`, '-F', `file=@${source}`, `${server.url}/api/v1/downloads`], {
          encoding: 'utf8',
          maxBuffer: 1024 * 1024,
        }),
      );
      const peak = peakRssMb(server.child.pid!);
      const created = JSON.parse(output) as { size: number; sha256: string };
      if (created.size !== size) throw new Error(`stored ${created.size} of ${size} bytes`);
      results.push({ cpSeconds, uploadSeconds, peak, before });
    } finally {
      await server.stop();
    }
    // Each stored copy is 1 GiB: keep the disk as it was for the next run.
    fs.rmSync(env.MEDIA_ROOT, { recursive: true, force: true });
  }

  const mb = size / 1024 / 1024;
  const cpSeconds = median(results.map((r) => r.cpSeconds));
  const uploadSeconds = median(results.map((r) => r.uploadSeconds));
  const peak = Math.max(...results.map((r) => r.peak));
  console.log(`Upload benchmark — ${mb.toLocaleString('en-US')} MiB of random data, one curl request to POST /api/v1/downloads, ${runs} runs (medians; peak = highest)`);
  console.log(`  cp of the same file, same disk   ${(mb / cpSeconds).toFixed(0).padStart(6)} MB/s   (${cpSeconds.toFixed(2)} s)`);
  console.log(`  upload through the API           ${(mb / uploadSeconds).toFixed(0).padStart(6)} MB/s   (${uploadSeconds.toFixed(2)} s; hashing and writing included)`);
  console.log(`  ratio upload / cp                ${(cpSeconds / uploadSeconds).toFixed(2)}`);
  console.log(`  server peak RSS                  ${peak.toFixed(0).padStart(6)} MB   (goal < 150 MB)   ${peak < 150 ? 'met' : 'NOT met'}`);
  console.log(`  per run: peak ${results.map((r) => r.peak.toFixed(0)).join(' / ')} MB, before the upload ${results.map((r) => r.before.toFixed(0)).join(' / ')} MB; upload ${results.map((r) => r.uploadSeconds.toFixed(2)).join(' / ')} s`);
} finally {
  if (!args.keep) fs.rmSync(dir, { recursive: true, force: true });
}
