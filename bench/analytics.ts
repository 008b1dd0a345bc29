/**
 * Analytics benchmark: fills a fresh database with synthetic download events through the
 * production batch writer (so the rollups are the ones the app computes), then measures the
 * server-side render of /admin/analytics for a 90-day range over real HTTP.
 *
 *   npm run bench:analytics -- [--events 10000000] [--days 180] [--downloads 500] [--runs 9]
 *                              [--range 90] [--batch 20000] [--postgres [--postgres-url URL]] [--keep]
 *
 * SQLite (default): a new file under bench/.out/. --postgres: a new database on the server of
 * --postgres-url (default postgresql://downloads:downloads@localhost:5432/downloads), dropped at
 * the end unless --keep. See bench/README.md for what the figures mean.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createApp } from '../src/app.ts';
import { classifyArtifact } from '../src/analytics/artifact-types.ts';
import { createDownloadFactsCache } from '../src/analytics/download-facts.ts';
import { createRollupKeys } from '../src/analytics/rollup-dimensions.ts';
import { loadConfig, PROJECT_ROOT } from '../src/config.ts';
import { createDeps } from '../src/deps.ts';
import type { DownloadEventRow } from '../src/events/download-recorder.ts';
import { createEventBatchWriter } from '../src/events/event-batch-writer.ts';
import { newEventId } from '../src/lib/event-ids.ts';
import { benchOutDir, median } from './lib/tools.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '10000000' },
    days: { type: 'string', default: '180' },
    downloads: { type: 'string', default: '500' },
    runs: { type: 'string', default: '9' },
    range: { type: 'string', default: '90' },
    batch: { type: 'string', default: '20000' },
    postgres: { type: 'boolean', default: false },
    'postgres-url': { type: 'string', default: 'postgresql://downloads:downloads@localhost:5432/downloads' },
    keep: { type: 'boolean', default: false },
  },
  strict: true,
});

function whole(name: 'events' | 'days' | 'downloads' | 'runs' | 'range' | 'batch', min: number): number {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name}: expected a whole number >= ${min} (got ${args[name]})`);
  return value;
}
const settings = { events: whole('events', 1000), days: whole('days', 2), downloads: whole('downloads', 1), runs: whole('runs', 1), range: whole('range', 1), batch: whole('batch', 100) };
const DAY = 86_400_000;
const HOUR = 3_600_000;

/** A small deterministic generator (mulberry32): the same data on every run and database. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pickWeighted(cumulative: number[], r: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! < r) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function cumulativeOf(weights: number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  let sum = 0;
  return weights.map((w) => (sum += w / total));
}

function migrate(url: string) {
  execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'prisma-cli.cjs'), 'migrate', 'deploy'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function withAdmin<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

// --- the database ----------------------------------------------------------------------------

const outDir = benchOutDir('analytics');
let databaseUrl: string;
let dropDatabase: (() => Promise<void>) | undefined;
if (args.postgres) {
  const server = args['postgres-url']!;
  const name = `dl_bench_${process.pid}`;
  await withAdmin(server, (c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(server);
  url.pathname = `/${name}`;
  databaseUrl = url.toString();
  dropDatabase = () => withAdmin(server, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined);
} else {
  databaseUrl = `file:${path.join(outDir, 'bench.db')}`;
}
migrate(databaseUrl);

const config = loadConfig({
  DATABASE_URL: databaseUrl,
  MEDIA_ROOT: path.join(outDir, 'media'),
  SESSION_SECRET: crypto.randomBytes(32).toString('hex'),
  PASSWORD_SCRYPT_N: '1024',
  LOG_LEVEL: 'warn',
  NODE_ENV: 'production',
});
const deps = await createDeps(config);
const db = deps.database.prisma;
const rng = random(42);

// --- the catalogue: categories, labels, downloads --------------------------------------------

const categories = await Promise.all(Array.from({ length: 20 }, (_, i) => db.category.create({ data: { title: `Category ${i + 1}`, slug: `category-${i + 1}` } })));
const labels = await Promise.all(
  ['Type:Installer', 'Type:Archive', 'Type:Library', 'Type:Document', 'OS:Linux', 'OS:Windows', 'OS:macOS', 'Arch:x86_64', 'Arch:arm64', 'Channel:Stable', 'Channel:Beta'].map((l) => {
    const [cls, name] = l.split(':') as [string, string];
    return db.label.create({ data: { class: cls, name } });
  }),
);
const extensions = ['tar.gz', 'zip', 'exe', 'jar', 'pdf', 'dmg'];
const downloadIds: number[] = [];
for (let i = 0; i < settings.downloads; i++) {
  const d = await db.download.create({
    data: {
      slug: `download-${i + 1}`,
      title: `Download ${i + 1}`,
      kind: 'remote',
      remoteUrl: `https://files.example/download-${i + 1}`,
      fileName: `download-${i + 1}.${extensions[i % extensions.length]}`,
      state: 'published',
      primaryCategoryId: categories[i % categories.length]!.id,
    },
  });
  await db.downloadLabel.createMany({ data: [labels[i % 4]!, labels[4 + (i % 3)]!, labels[9 + (i % 2)]!].map((l) => ({ downloadId: d.id, labelId: l.id })) });
  if (i % 5 === 0) await db.downloadCategory.create({ data: { downloadId: d.id, categoryId: categories[(i + 7) % categories.length]!.id } });
  downloadIds.push(d.id);
}

// --- events, through the production writer and rollup dimensions -----------------------------

// A bulk load: a larger page cache for the writer's connection than the app's default (2 MiB).
if (deps.database.driver.kind === 'sqlite') await deps.database.driver.exclusive((c) => c.pragma('cache_size = -262144'));
const facts = createDownloadFactsCache({ db, log: deps.log });
await facts.load();
const write = createEventBatchWriter(deps.database, createRollupKeys(facts));

const popularity = cumulativeOf(downloadIds.map((_, i) => 1 / (i + 1) ** 0.8));
const referrers = ['(none)', ...Array.from({ length: 30 }, (_, i) => `site-${i + 1}.example`)];
const referrerWeights = cumulativeOf(referrers.map((_, i) => (i === 0 ? 40 : 30 / (i + 1))));
const agents = [
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36', 'human'],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15', 'human'],
  ['curl/8.5.0', 'bot'],
  ['Googlebot/2.1 (+http://www.google.com/bot.html)', 'bot'],
] as const;
const refusals = ['token_expired', 'token_used_up', 'token_invalid', 'token_required'];
const repositories = Array.from({ length: 10 }, (_, i) => `repo-${i + 1}`);
const artifacts = ['lib.jar', 'lib.pom', 'lib.jar.sha1', 'lib.jar.md5', 'lib-sources.jar', 'notes.txt'];

const end = Math.floor(Date.now() / DAY) * DAY + DAY;
const start = end - settings.days * DAY;
// More downloads in working hours and on weekdays, so the heatmap has a shape.
const hourWeights = Array.from({ length: settings.days * 24 }, (_, h) => {
  const at = new Date(start + h * HOUR);
  const hourOfDay = at.getUTCHours();
  const weekend = at.getUTCDay() === 0 || at.getUTCDay() === 6;
  return (0.3 + Math.exp(-((hourOfDay - 14) ** 2) / 18)) * (weekend ? 0.6 : 1);
});
const weightSum = hourWeights.reduce((a, b) => a + b, 0);

function syntheticEvent(at: number): DownloadEventRow {
  const r = rng();
  const base = {
    id: newEventId(at),
    occurredAt: new Date(at),
    rangeStart: null,
    rangeEnd: null,
    userId: null,
    tokenId: null,
    bypass: false,
    ip: '203.0.113.0',
  };
  if (r < 0.1) {
    const artifact = artifacts[Math.floor(rng() * artifacts.length)]!;
    return {
      ...base, downloadId: null, source: 'external:cloudrepo', outcome: 'served', reason: null, counted: true, method: null, status: null,
      userAgent: null, agentClass: null, referrer: null, referrerHost: null,
      repository: repositories[Math.floor(rng() * repositories.length)]!, artifact, artifactType: classifyArtifact(artifact),
    };
  }
  const agent = agents[Math.floor(rng() * agents.length)]!;
  const referrer = referrers[pickWeighted(referrerWeights, rng())]!;
  const downloadId = downloadIds[pickWeighted(popularity, rng())]!;
  const outcome = r < 0.15 ? 'denied' : r < 0.18 ? 'resumed' : 'served';
  return {
    ...base, downloadId, source: 'server', outcome, reason: outcome === 'denied' ? refusals[Math.floor(rng() * refusals.length)]! : null,
    counted: outcome === 'served', method: 'GET', status: outcome === 'denied' ? 410 : outcome === 'resumed' ? 206 : 200,
    userAgent: agent[0], agentClass: agent[1], referrer: referrer === '(none)' ? null : `https://${referrer}/page`, referrerHost: referrer === '(none)' ? null : referrer,
  };
}

console.log(`database: ${deps.database.kind}${deps.database.kind === 'sqlite' ? ` ${databaseUrl.slice(5)}` : ''}`);
console.log(`filling: ${settings.events.toLocaleString('en-US')} events over ${settings.days} days, ${settings.downloads} downloads, batches of ${settings.batch}`);
const fillStarted = process.hrtime.bigint();
let written = 0;
let carry = 0;
let batch: DownloadEventRow[] = [];
for (let h = 0; h < hourWeights.length; h++) {
  const exact = (settings.events * hourWeights[h]!) / weightSum + carry;
  const count = h === hourWeights.length - 1 ? settings.events - written - batch.length : Math.floor(exact);
  carry = exact - count;
  const hourStart = start + h * HOUR;
  for (let i = 0; i < count; i++) {
    batch.push(syntheticEvent(hourStart + Math.floor((i / count) * HOUR)));
    if (batch.length >= settings.batch) {
      await write(batch);
      written += batch.length;
      batch = [];
      if (written % 1_000_000 < settings.batch) {
        const seconds = Number(process.hrtime.bigint() - fillStarted) / 1e9;
        console.log(`  ${written.toLocaleString('en-US')} events, ${Math.round(written / seconds).toLocaleString('en-US')}/s`);
      }
    }
  }
}
if (batch.length) {
  await write(batch);
  written += batch.length;
}
const fillSeconds = Number(process.hrtime.bigint() - fillStarted) / 1e9;
if (deps.database.driver.kind === 'sqlite') await deps.database.driver.exclusive((c) => c.exec('ANALYZE'));
else await deps.database.driver.pool.query('VACUUM ANALYZE');
const [events, rollups] = [await db.downloadEvent.count(), await db.rollup.count()];
console.log(`filled: ${events.toLocaleString('en-US')} events and ${rollups.toLocaleString('en-US')} rollup rows in ${fillSeconds.toFixed(1)} s (${Math.round(written / fillSeconds).toLocaleString('en-US')} events/s)`);
if (deps.database.kind === 'sqlite') console.log(`database file: ${(fs.statSync(databaseUrl.slice(5)).size / 1024 ** 3).toFixed(2)} GiB`);

// --- the dashboard over real HTTP --------------------------------------------------------------

const user = await deps.users.createUser({ username: 'bench-analyst', password: 'a long bench password', role: 'analyst' });
const server = http.createServer(createApp(deps));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const cookieOf = (res: Response) => (res.headers.get('set-cookie') ?? '').split(';')[0]!;
const loginPage = await fetch(`${base}/login`);
const csrf = /name="_csrf" value="([^"]+)"/.exec(await loginPage.text())![1]!;
const signedIn = await fetch(`${base}/login`, {
  method: 'POST',
  redirect: 'manual',
  headers: { cookie: cookieOf(loginPage), 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ username: user.username, password: 'a long bench password', _csrf: csrf, next: '/admin' }),
});
const cookie = cookieOf(signedIn);

const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);
const to = isoDay(end - DAY);
const from = isoDay(end - settings.range * DAY);
async function timed(url: string): Promise<number> {
  const started = process.hrtime.bigint();
  const res = await fetch(url, { headers: { cookie } });
  const body = await res.text();
  if (res.status !== 200 || body.length < 1000) throw new Error(`${url}: ${res.status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

for (const [name, url] of [
  [`GET /admin/analytics?from=${from}&to=${to}`, `${base}/admin/analytics?from=${from}&to=${to}`],
  [`GET /admin/analytics/export.csv?from=${from}&to=${to}`, `${base}/admin/analytics/export.csv?from=${from}&to=${to}`],
] as const) {
  await timed(url); // warm-up: JIT, Prisma's query plans, the database's page cache
  const times: number[] = [];
  for (let i = 0; i < settings.runs; i++) times.push(await timed(url));
  console.log(`${name}: median ${median(times).toFixed(1)} ms over ${settings.runs} runs (min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)})`);
}

server.closeAllConnections();
await new Promise((resolve) => server.close(resolve));
await deps.close();
if (!args.keep) {
  await dropDatabase?.();
  fs.rmSync(outDir, { recursive: true, force: true });
} else {
  console.log(`kept: ${dropDatabase ? databaseUrl : outDir}`);
}
