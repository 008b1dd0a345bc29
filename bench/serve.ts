/**
 * Serving benchmark: what the proxy hop of LOCAL serving costs, measured in one run.
 *
 *   node --import tsx bench/serve.ts [--duration 10] [--connections 64] [--threads 1]
 *        [--warmup 2] [--workers 1] [--big-size 1G] [--big-data random|sparse] [--big-runs 5] [--keep]
 *
 *   (a) nginx sends the file itself (a public copy of the internal location, bench only)
 *   (b) nginx → a bare Express 5 route that only sets X-Accel-Redirect → nginx sends the file
 *   (c) nginx → the real serve handler → nginx sends the file (hook: bench/lib/real-serve-path.ts)
 *
 * A 10 KiB file under wrk shows requests per second; a large file over one connection shows
 * MB/s. Only ratios from the same run mean much on a shared machine: see bench/README.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { renderNginxConfig } from '../scripts/nginx-config.ts';
import { PROJECT_ROOT } from '../src/config.ts';
import { nginxBinary } from '../tests/helpers/env.ts';
import { freePort, startNginx, type RunningNginx } from '../tests/helpers/nginx.ts';
import { startRealServePath, type BenchFile } from './lib/real-serve-path.ts';
import { benchOutDir, cleanupOnExit, curlDownload, median, run, wrk, type WrkResult } from './lib/tools.ts';

const MEDIA_URL = '/media/';
const SMALL_SIZE = 10 * 1024;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    threads: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '2' },
    workers: { type: 'string', default: '1' },
    'big-size': { type: 'string', default: '1G' },
    'big-data': { type: 'string', default: 'random' },
    'big-runs': { type: 'string', default: '5' },
    keep: { type: 'boolean', default: false },
  },
  strict: true,
});

function whole(name: keyof typeof args, min: number): number {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name}: expected a whole number >= ${min} (got ${args[name]})`);
  return value;
}

function size(name: keyof typeof args): number {
  const match = /^(\d+)([kmg]?)$/i.exec(String(args[name]));
  if (!match) throw new Error(`--${name}: expected a size like 1G, 256M or 0 (got ${args[name]})`);
  return Number(match[1]) * ({ k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2]!.toLowerCase()] ?? 1);
}

if (args['big-data'] !== 'random' && args['big-data'] !== 'sparse') throw new Error('--big-data: random or sparse');
const settings = {
  seconds: whole('duration', 1),
  connections: whole('connections', 1),
  threads: whole('threads', 1),
  warmupSeconds: whole('warmup', 0),
  workers: whole('workers', 1),
  bigSize: size('big-size'),
  bigData: args['big-data'] as 'random' | 'sparse',
  bigRuns: whole('big-runs', 1),
};

// Everything started is stopped again, also on Ctrl-C.
const { cleanups, cleanUp } = cleanupOnExit();

// --- the files ---------------------------------------------------------------------------------

function writeFile(mediaRoot: string, size: number, data: 'random' | 'sparse'): BenchFile {
  const key = randomBytes(16).toString('hex');
  const file = path.join(mediaRoot, 'downloads', key);
  if (data === 'sparse') {
    // No disk blocks: nginx reads zero pages. Fast to make; see README on the page cache.
    fs.writeFileSync(file, '');
    fs.truncateSync(file, size);
  } else {
    const fd = fs.openSync(file, 'w');
    const chunk = Buffer.alloc(Math.min(size, 16 * 1024 * 1024));
    for (let written = 0; written < size; written += chunk.length) {
      fs.writeSync(fd, randomBytes(chunk.length), 0, Math.min(chunk.length, size - written));
    }
    fs.closeSync(fd);
  }
  return { key, size, path: file };
}

// --- the servers -------------------------------------------------------------------------------

/** (b)'s upstream: bench/lib/accel-app.ts as its own process. */
async function startAccelApp(): Promise<{ address: string; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench', 'lib', 'accel-app.ts')], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, PORT: '0', MEDIA_URL },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const address = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (d) => {
      output += d;
      const match = /listening on (\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`accel-app exited with ${code}: ${output}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    address,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * (a): the shipped internal location, copied from the rendered template minus `internal;`, in a
 * server block of its own. The same directives (sendfile, headers, symlink checks, access log)
 * as in (b), so the difference between (a) and (b) is the trip through the app.
 */
function publicServerBlock(port: number, mediaRoot: string, accessLog: string): string {
  const site = renderNginxConfig({ listen: '1', upstreams: ['127.0.0.1:1'], mediaUrl: MEDIA_URL, mediaRoot, maxBodyBytes: 1, accessLog });
  const location = /\n    location \^~ \/media\/ \{\n[\s\S]*?\n    \}\n/.exec(site)?.[0];
  if (!location || !location.includes('internal;')) throw new Error('bench: the internal location was not found in the template');
  return `
    # Bench only: MEDIA_ROOT served publicly. Never in the shipped template.
    server {
        listen 127.0.0.1:${port};
        server_tokens off;
        access_log ${accessLog} downloads_json;
${location.replace(/^\s*internal;\n/m, '')}
    }`;
}

// --- measuring -----------------------------------------------------------------------------------

interface Scenario {
  id: string;
  label: string;
  url?: string;
  skipped?: string;
}

/** A benchmark of 404s is fast and worthless: check the URL serves the whole file first. */
async function checkServes(url: string, size: number) {
  const result = await curlDownload(url);
  if (result.status !== 200 || result.bytes !== size) {
    throw new Error(`${url} answered ${result.status} with ${result.bytes} bytes, expected 200 with ${size}`);
  }
}

async function measureRate(scenario: Scenario): Promise<WrkResult> {
  const common = { url: scenario.url!, connections: settings.connections, threads: settings.threads };
  // Untimed first: JIT, keep-alive pools and the page cache settle before the numbers count.
  if (settings.warmupSeconds > 0) await wrk({ ...common, seconds: settings.warmupSeconds });
  return wrk({ ...common, seconds: settings.seconds });
}

/**
 * Median MB/s per scenario. The downloads alternate between scenarios (a, b, a, b, …) so that
 * whatever else the machine does at the moment weighs on each alike.
 */
async function measureThroughput(scenarios: Scenario[], size: number): Promise<Map<string, number>> {
  for (const scenario of scenarios) await checkServes(scenario.url!, size); // also the warm-up read
  const speeds = new Map<string, number[]>(scenarios.map((s) => [s.id, []]));
  for (let i = 0; i < settings.bigRuns; i++) {
    for (const scenario of scenarios) speeds.get(scenario.id)!.push((await curlDownload(scenario.url!)).megabytesPerSecond);
  }
  return new Map([...speeds].map(([id, values]) => [id, median(values)]));
}

// --- reporting -----------------------------------------------------------------------------------

const number = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pad = (s: string, width: number) => s.padEnd(width);
const padLeft = (s: string, width: number) => s.padStart(width);

function rateLine(scenario: Scenario, r: WrkResult): string {
  return `  ${pad(`(${scenario.id}) ${scenario.label}`, 46)}${padLeft(number(r.requestsPerSecond), 9)} req/s ${padLeft(number(r.megabytesPerSecond, 1), 8)} MB/s`
    + `   non-2xx ${r.statusErrors}   socket errors ${r.socketErrors}   p50 ${number(r.p50Us / 1000, 2)} ms   p99 ${number(r.p99Us / 1000, 2)} ms`;
}

function ratios(values: Map<string, number>): string {
  const ids = [...values.keys()];
  const parts: string[] = [];
  for (let i = 1; i < ids.length; i++) {
    for (let j = 0; j < i; j++) parts.push(`(${ids[i]})/(${ids[j]}) = ${(values.get(ids[i]!)! / values.get(ids[j]!)!).toFixed(3)}`);
  }
  return parts.length ? `  ratios: ${parts.join('   ')}` : '';
}

// --- the run -------------------------------------------------------------------------------------

async function main() {
  const outDir = benchOutDir('serve');
  if (!args.keep) cleanups.push(() => fs.rmSync(outDir, { recursive: true, force: true }));
  const mediaRoot = path.join(outDir, 'media');
  fs.mkdirSync(path.join(mediaRoot, 'downloads'), { recursive: true });

  const small = writeFile(mediaRoot, SMALL_SIZE, 'random');
  const big = settings.bigSize > 0 ? writeFile(mediaRoot, settings.bigSize, settings.bigData) : undefined;

  const nginxFor = (upstreams: string[], extraHttpConfig?: string) =>
    startNginx({ upstreams, mediaRoot, mediaUrl: MEDIA_URL, workers: settings.workers, parentDir: outDir, extraHttpConfig }).then((n) => {
      cleanups.push(() => n.stop());
      return n;
    });

  const accelApp = await startAccelApp();
  cleanups.push(() => accelApp.stop());
  const publicPort = await freePort();
  const nginx: RunningNginx = await nginxFor([accelApp.address], publicServerBlock(publicPort, mediaRoot, path.join(outDir, 'public.access.log')));
  const direct = (file: BenchFile) => `http://127.0.0.1:${publicPort}${MEDIA_URL}downloads/${file.key}`;
  const viaExpress = (file: BenchFile) => `${nginx.url}/downloads/${file.key}/file`;

  const real = await startRealServePath({ mediaRoot, mediaUrl: MEDIA_URL, outDir, files: { small, big }, startNginx: (u) => nginxFor(u) });
  if ('stop' in real) cleanups.push(() => real.stop());

  const nginxVersion = (await run('sh', ['-c', `'${nginxBinary}' -v 2>&1`])).trim().replace(/^nginx version: /, '');
  console.log(`Serving benchmark — ${os.cpus().length} cores, ${nginxVersion} (${settings.workers} worker${settings.workers > 1 ? 's' : ''}), node ${process.version}`);
  console.log(`wrk -t${settings.threads} -c${settings.connections} -d${settings.seconds}s after ${settings.warmupSeconds}s warm-up; files in ${mediaRoot}`);

  const scenarios: Scenario[] = [
    { id: 'a', label: 'nginx sends the file itself', url: direct(small) },
    { id: 'b', label: 'nginx → bare Express → X-Accel-Redirect', url: viaExpress(small) },
    'skipped' in real
      ? { id: 'c', label: 'nginx → the real serve path', skipped: real.skipped }
      : { id: 'c', label: 'nginx → the real serve path', url: real.urls.small },
  ];

  console.log(`\n${number(SMALL_SIZE / 1024)} KiB file, ${settings.connections} connections:`);
  const rates = new Map<string, number>();
  for (const scenario of scenarios) {
    if (!scenario.url) {
      console.log(`  ${pad(`(${scenario.id}) ${scenario.label}`, 46)}skipped: ${scenario.skipped}`);
      continue;
    }
    await checkServes(scenario.url, SMALL_SIZE);
    const result = await measureRate(scenario);
    rates.set(scenario.id, result.requestsPerSecond);
    console.log(rateLine(scenario, result));
  }
  console.log(ratios(rates));
  if ('countedDownloads' in real) {
    const served = real.logged200s();
    // wrk abandons the requests in flight when its time is up: nginx logs them 499, the app had
    // already counted them. Ingesting nginx's log takes those back (src/events/nginx-log-ingest.ts).
    const before = await real.countedDownloads();
    const report = real.ingestAccessLog();
    const counted = await real.countedDownloads();
    console.log(`  (c) stored count ${before} before ingesting nginx's log, ${counted} after (${report})`);
    console.log(`  (c) 200 responses in nginx's access log ${served}: stored count ${counted === served ? 'equal' : 'DIFFERENT'}`);
    if (rates.has('b') && rates.has('c')) {
      const ratio = rates.get('c')! / rates.get('b')!;
      console.log(`  goal (c) >= 0.7 x (b): ${ratio.toFixed(3)} ${ratio >= 0.7 ? 'met' : 'NOT met'}`);
    }
  }

  if (big) {
    const bigScenarios: Scenario[] = [
      { id: 'a', label: 'nginx sends the file itself', url: direct(big) },
      { id: 'b', label: 'nginx → bare Express → X-Accel-Redirect', url: viaExpress(big) },
      ...('urls' in real && real.urls.big ? [{ id: 'c', label: 'nginx → the real serve path', url: real.urls.big }] : []),
    ];
    const sizeLabel = big.size >= 1024 ** 3 ? `${number(big.size / 1024 ** 3, 1)} GiB` : `${number(big.size / 1024 ** 2)} MiB`;
    console.log(`\n${sizeLabel} file (${settings.bigData} data, page cache warm), one connection, curl to /dev/null, median of ${settings.bigRuns} alternating runs:`);
    const speeds = await measureThroughput(bigScenarios, big.size);
    for (const scenario of bigScenarios) {
      console.log(`  ${pad(`(${scenario.id}) ${scenario.label}`, 46)}${padLeft(number(speeds.get(scenario.id)!), 9)} MB/s`);
    }
    console.log(ratios(speeds));
    if (speeds.has('c')) {
      const ratio = speeds.get('c')! / speeds.get('a')!;
      console.log(`  goal (c) >= 0.9 x (a) in MB/s: ${ratio.toFixed(3)} ${ratio >= 0.9 ? 'met' : 'NOT met'}`);
    }
  }
  if (args.keep) console.log(`\nkept: ${outDir} (nginx.conf, access logs)`);
}

try {
  await main();
} finally {
  await cleanUp();
}
