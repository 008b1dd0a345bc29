/**
 * Generated downloads served through nginx in LOCAL mode, next to a stored file of the same size:
 *
 *   npm run bench:generated -- [--duration 10] [--connections 64] [--threads 1] [--warmup 2]
 *                              [--rounds 2] [--misses 20] [--keep]
 *
 * The real app (compiled, its own process, SQLite) behind nginx with the shipped site config.
 * (s) a stored download whose file has the size of the generated image; (g) a text overlay
 * (1200×630 photo-like JPEG background), the same `?name=` on every request, so every request
 * after the first is a cache hit: the serve handler computes the cache key, finds the file and
 * hands it to nginx. The rounds alternate s, g, s, g…; the goal is judged on the median of each
 * round's (g)/(s), which load drifting over the run disturbs least. Then
 * `--misses` requests with a new name each show what a visitor waits for on a miss, end to end.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT, loadConfig } from '../src/config.ts';
import { createDeps } from '../src/deps.ts';
import { createLogger } from '../src/log.ts';
import { nginxBinary } from '../tests/helpers/env.ts';
import { freePort, startNginx } from '../tests/helpers/nginx.ts';
import { startServerProcess } from '../tests/helpers/processes.ts';
import { BENCH_OVERLAY, photoLikeBackground } from './lib/backgrounds.ts';
import { benchOutDir, cleanupOnExit, curlDownload, run, wrk, type WrkResult } from './lib/tools.ts';

const GOAL = 0.7;
const NAME = 'Ada Lovelace';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    threads: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    misses: { type: 'string', default: '20' },
    keep: { type: 'boolean', default: false },
  },
  strict: true,
});
const whole = (name: keyof typeof args, min: number) => {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name}: expected a whole number >= ${min}`);
  return value;
};
const settings = {
  seconds: whole('duration', 1),
  connections: whole('connections', 1),
  threads: whole('threads', 1),
  warmupSeconds: whole('warmup', 0),
  rounds: whole('rounds', 1),
  misses: whole('misses', 0),
};

// Everything started is stopped again, also on Ctrl-C.
const { cleanups, cleanUp } = cleanupOnExit();

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const number = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The two downloads, made through the services before the app starts; returns their slugs and the file size. */
async function prepare(env: Record<string, string>) {
  const config = loadConfig({ ...env, LOG_LEVEL: 'warn' });
  const deps = await createDeps(config, { log: createLogger(config) });
  try {
    const staging = await deps.files.createStaging();
    const background = deps.files.stagedPath(staging);
    const jpeg = await photoLikeBackground();
    fs.writeFileSync(background, jpeg);
    const generated = await deps.generatedDownloads.create(
      { title: 'bench-generated', state: 'published' },
      { kind: 'text-overlay', ...BENCH_OVERLAY },
      { background: { field: 'background', originalName: 'background.jpg', clientType: 'image/jpeg', path: background, size: jpeg.length, sha256: crypto.createHash('sha256').update(jpeg).digest('hex') } },
    );
    // One render now, to learn the size the stored file must have; the app will find it cached.
    const servable = (await deps.downloads.findServable(generated.slug))!;
    const file = await deps.generated.locate(servable, { query: { name: NAME }, clientKey: 'bench' });
    const bytes = crypto.randomBytes(file.size);
    const stored = deps.files.stagedPath(staging);
    fs.writeFileSync(stored, bytes);
    const plain = await deps.downloads.create(
      { title: 'bench-stored', state: 'published', fileName: 'stored.jpg' },
      { path: stored, size: bytes.length, sha256: crypto.createHash('sha256').update(bytes).digest('hex'), originalName: 'stored.jpg' },
    );
    await deps.files.discardStaging(staging);
    return { generated: { slug: generated.slug, id: generated.id }, stored: { slug: plain.slug, id: plain.id }, size: file.size };
  } finally {
    await deps.close();
  }
}

async function measure(url: string): Promise<WrkResult> {
  const common = { url, connections: settings.connections, threads: settings.threads };
  if (settings.warmupSeconds > 0) await wrk({ ...common, seconds: settings.warmupSeconds });
  return wrk({ ...common, seconds: settings.seconds });
}

function line(label: string, r: WrkResult): string {
  return `  ${label.padEnd(44)}${number(r.requestsPerSecond).padStart(9)} req/s ${number(r.megabytesPerSecond, 1).padStart(8)} MB/s   non-2xx ${r.statusErrors}   socket errors ${r.socketErrors}   p50 ${number(r.p50Us / 1000, 2)} ms   p99 ${number(r.p99Us / 1000, 2)} ms`;
}

async function main() {
  if (!nginxBinary) throw new Error('nginx is needed: apt-get install -y nginx wrk curl');
  const outDir = benchOutDir('generated');
  if (!args.keep) cleanups.push(() => fs.rmSync(outDir, { recursive: true, force: true }));
  const env = {
    DATABASE_URL: `file:${path.join(outDir, 'bench.db')}`,
    MEDIA_ROOT: path.join(outDir, 'media'),
    DOWNLOAD_SERVE_FROM: 'LOCAL',
    SESSION_SECRET: crypto.randomBytes(32).toString('hex'),
    // The misses below come from one address; the limit is not what is measured.
    RENDER_RATE_LIMIT: '0',
  };
  execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'prisma-cli.cjs'), 'migrate', 'deploy'], { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: 'ignore' });
  const downloads = await prepare(env);

  execFileSync('npm', ['run', 'build', '--silent'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  const app = await startServerProcess({ ...env, LOG_LEVEL: 'warn', PORT: String(await freePort()) }, { compiled: true });
  cleanups.push(() => app.stop());
  const nginx = await startNginx({ upstreams: [new URL(app.url).host], mediaRoot: env.MEDIA_ROOT, parentDir: outDir });
  cleanups.push(() => nginx.stop());

  const urls = {
    s: `${nginx.url}/downloads/${downloads.stored.slug}/file`,
    g: `${nginx.url}/downloads/${downloads.generated.slug}/file?name=${encodeURIComponent(NAME)}`,
  };
  for (const url of Object.values(urls)) {
    const check = await curlDownload(url);
    if (check.status !== 200 || check.bytes !== downloads.size) throw new Error(`${url} answered ${check.status} with ${check.bytes} bytes, expected 200 with ${downloads.size}`);
  }

  const nginxVersion = (await run('sh', ['-c', `'${nginxBinary}' -v 2>&1`])).trim().replace(/^nginx version: /, '');
  console.log(`Generated-download benchmark — ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, ${nginxVersion} (1 worker), node ${process.version}`);
  console.log(`wrk -t${settings.threads} -c${settings.connections} -d${settings.seconds}s after ${settings.warmupSeconds}s warm-up, ${settings.rounds} alternating rounds; LOCAL mode, compiled app, SQLite`);
  console.log(`\n${number(downloads.size)}-byte file (a 1200×630 text overlay and a stored file of the same size), ${settings.connections} connections:`);

  const rates = { s: [] as number[], g: [] as number[] };
  for (let round = 1; round <= settings.rounds; round++) {
    for (const id of ['s', 'g'] as const) {
      const result = await measure(urls[id]);
      rates[id].push(result.requestsPerSecond);
      console.log(line(`round ${round} (${id}) ${id === 's' ? 'stored file' : 'generated, cache hit'}`, result));
    }
  }
  // Each round's (g) ran right after its (s): their ratio is the least touched by load that drifts.
  const roundRatios = rates.g.map((g, i) => g / rates.s[i]!);
  const ratio = median(roundRatios);
  console.log(`  medians: (s) ${number(median(rates.s))} req/s, (g) ${number(median(rates.g))} req/s; (g)/(s) of the medians ${(median(rates.g) / median(rates.s)).toFixed(3)}`);
  console.log(`  (g)/(s) per round: ${roundRatios.map((r) => r.toFixed(3)).join(', ')}`);
  console.log(`  goal (g) >= ${GOAL} x (s), median of the rounds' ratios: ${ratio.toFixed(3)} ${ratio >= GOAL ? 'met' : 'NOT met'}`);

  if (settings.misses > 0) {
    const times: number[] = [];
    for (let i = 0; i < settings.misses; i++) {
      const url = `${nginx.url}/downloads/${downloads.generated.slug}/file?name=${encodeURIComponent(`Visitor ${i} ${crypto.randomBytes(4).toString('hex')}`)}`;
      const out = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{time_total}', url]);
      const [status, seconds] = out.trim().split(' ');
      if (status !== '200') throw new Error(`a miss answered ${status}`);
      times.push(Number(seconds) * 1000);
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(`\ncache misses through nginx (a new ?name= each, one at a time, curl's total time): median ${median(times).toFixed(1)} ms, ` +
      `p90 ${sorted[Math.min(sorted.length - 1, Math.ceil(0.9 * sorted.length) - 1)]!.toFixed(1)} ms (n=${times.length})`);
  }
  if (args.keep) console.log(`\nkept: ${outDir}`);
}

try {
  await main();
} finally {
  await cleanUp();
}
