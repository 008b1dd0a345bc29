/**
 * Archive import benchmark: a generated archive of 1,000 files (about 200 MB, made by Info-ZIP
 * `zip`) imported through POST /api/v1/archives of the compiled server, next to `unzip` of the
 * same archive on the same disk, with the server's peak resident memory.
 *
 *   node --import tsx bench/archive.ts [--files 1000] [--mean-size 200k] [--runs 3] [--database URL] [--keep]
 *
 * Each run imports into a fresh database and media folder (a real import, never a replay). Two
 * thirds of the files are random (zip stores them), a third are text-like (deflated), so both
 * code paths of the reader are timed; 1,000 files of 240 KiB on average make a ~190 MB archive.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../src/config.ts';
import { freePort } from '../tests/helpers/nginx.ts';
import { runCli, startServerProcess } from '../tests/helpers/processes.ts';
import { benchOutDir, median, peakRssMb, resetPeakRss, seconds, settle } from './lib/tools.ts';

const { values: args } = parseArgs({
  options: {
    files: { type: 'string', default: '1000' },
    'mean-size': { type: 'string', default: '240k' },
    runs: { type: 'string', default: '3' },
    database: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const fileCount = Number(args.files);
const meanSize = Number(/^(\d+)k$/i.exec(args['mean-size']!)?.[1] ?? NaN) * 1024;
const runs = Number(args.runs);
if (!(fileCount > 0 && meanSize > 0 && runs > 0)) throw new Error('--files N, --mean-size like 200k, --runs N');

const dir = benchOutDir('archive');

function makeArchive(): string {
  const src = path.join(dir, 'src');
  fs.mkdirSync(path.join(src, 'dist'), { recursive: true });
  const words = 'release notes binary installer checksum archive manifest download mirror version '.split(' ');
  const entries: string[] = [];
  for (let i = 0; i < fileCount; i++) {
    // Sizes spread from half to one and a half times the mean.
    const size = Math.round(meanSize * (0.5 + ((i * 7919) % 1000) / 1000));
    const text = i % 3 === 0;
    const name = text ? `dist/notes-${i}.txt` : `dist/package-${i}.bin`;
    let data: Buffer;
    if (!text) data = crypto.randomBytes(size);
    else {
      const lines: string[] = [];
      let length = 0;
      while (length < size) {
        const line = `${i} ${words[(length * 31) % words.length]} ${crypto.randomBytes(6).toString('hex')}\n`;
        lines.push(line);
        length += line.length;
      }
      data = Buffer.from(lines.join('')).subarray(0, size);
    }
    fs.writeFileSync(path.join(src, name), data);
    entries.push(`  <file><name>${name}</name><summary>Package ${i}</summary><labels><label>Type:${i % 3 === 0 ? 'Notes' : 'Binary'}</label></labels></file>`);
  }
  fs.writeFileSync(path.join(src, 'manifest.xml'), `<?xml version="1.0" encoding="UTF-8"?>\n<manifest>\n${entries.join('\n')}\n</manifest>\n`);
  const zip = path.join(dir, 'release.zip');
  execFileSync('zip', ['-q', '-r', zip, 'manifest.xml', 'dist'], { cwd: src });
  fs.rmSync(src, { recursive: true });
  return zip;
}

async function importOnce(zip: string, run: number) {
  const runDir = path.join(dir, `run-${run}`);
  fs.mkdirSync(runDir);
  const databaseUrl = args.database ?? `file:${path.join(runDir, 'bench.db')}`;
  const env = {
    DATABASE_URL: databaseUrl,
    MEDIA_ROOT: path.join(runDir, 'media'),
    SESSION_SECRET: crypto.randomBytes(32).toString('hex'),
    LOG_LEVEL: 'warn',
  };
  if (args.database) {
    // A fresh PostgreSQL schema per run: reset drops and re-applies the migrations.
    execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'prisma-cli.cjs'), 'migrate', 'reset', '--force', '--skip-seed', '--skip-generate'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
  } else {
    execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'prisma-cli.cjs'), 'migrate', 'deploy'], { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: 'ignore' });
  }
  runCli(['user:create', '--username', 'bench', '--password', 'bench-password', '--role', 'editor'], env);
  const key = runCli(['apikey:create', '--username', 'bench'], env).stdout.trim().split('\n').at(-1)!;
  const server = await startServerProcess({ ...env, PORT: String(await freePort()) }, { compiled: true });
  try {
    // A server that has been up a while, like the one users upload to (see settle).
    await settle();
    resetPeakRss(server.child.pid!);
    const before = peakRssMb(server.child.pid!);
    const post = (query: string) =>
      seconds(() =>
        execFileSync('curl', ['-sS', '-f', '-H', `Authorization: Bearer ${key}`, '-F', `archive=@${zip}`, `${server.url}/api/v1/archives${query}`], {
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        }),
      );
    const [, dryRunSeconds] = post('?dryRun=1');
    const [output, importSeconds] = post('');
    const report = JSON.parse(output) as { created: string[] };
    if (report.created.length !== fileCount) throw new Error(`created ${report.created.length} of ${fileCount}`);
    return { importSeconds, dryRunSeconds, peak: peakRssMb(server.child.pid!), before };
  } finally {
    await server.stop();
    if (!args.keep) fs.rmSync(runDir, { recursive: true, force: true });
  }
}

try {
  console.log(`Making the archive: ${fileCount} files, mean ${meanSize / 1024} KiB …`);
  const zip = makeArchive();
  const zipMb = fs.statSync(zip).size / 1024 / 1024;
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: PROJECT_ROOT, stdio: 'inherit' });

  const unzipTimes: number[] = [];
  const results: Awaited<ReturnType<typeof importOnce>>[] = [];
  for (let run = 0; run < runs; run++) {
    execFileSync('cat', [zip], { stdio: 'ignore' });
    const target = path.join(dir, `unzip-${run}`);
    unzipTimes.push(seconds(() => execFileSync('unzip', ['-q', '-o', zip, '-d', target]))[1]);
    fs.rmSync(target, { recursive: true, force: true });
    results.push(await importOnce(zip, run));
  }

  const unzip = median(unzipTimes);
  const total = median(results.map((r) => r.importSeconds));
  const dry = median(results.map((r) => r.dryRunSeconds));
  const peak = Math.max(...results.map((r) => r.peak));
  console.log(`\nArchive import benchmark — ${fileCount} files, ${zipMb.toFixed(0)} MB archive (zip -r), ${runs} runs, medians; database ${args.database ? 'PostgreSQL' : 'SQLite'}`);
  console.log(`  unzip -q of the archive, same disk            ${unzip.toFixed(2).padStart(6)} s`);
  console.log(`  POST /api/v1/archives (upload + import)       ${total.toFixed(2).padStart(6)} s   ratio to unzip ${(total / unzip).toFixed(2)}   (goal ≤ 2)   ${total / unzip <= 2 ? 'met' : 'NOT met'}`);
  console.log(`    of which upload + checks (the dry run)      ${dry.toFixed(2).padStart(6)} s`);
  console.log(`    of which unpack + write (the difference)    ${(total - dry).toFixed(2).padStart(6)} s   ratio to unzip ${((total - dry) / unzip).toFixed(2)}`);
  console.log(`  server peak RSS                               ${peak.toFixed(0).padStart(6)} MB  (${results.map((r) => r.before.toFixed(0)).join('/')} MB before; goal < 200 MB)   ${peak < 200 ? 'met' : 'NOT met'}`);
  console.log(`  runs: ${results.map((r) => r.importSeconds.toFixed(2)).join(', ')} s; unzip ${unzipTimes.map((s) => s.toFixed(2)).join(', ')} s; peaks ${results.map((r) => r.peak.toFixed(0)).join(', ')} MB`);
} finally {
  if (!args.keep) fs.rmSync(dir, { recursive: true, force: true });
}
