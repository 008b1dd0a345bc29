/**
 * Rollups are the dashboard's only source, so they must equal what the raw events say: every
 * hourly and daily bucket of every dimension, for server downloads, refusals, resumes, external
 * downloads, repeats and retractions alike; and pruning raw events must change none of them.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import type { DownloadEventRow } from '../../src/events/download-recorder.ts';
import { dayOf, hourOf } from '../../src/events/event-batch-writer.ts';
import { classifyArtifact } from '../../src/analytics/artifact-types.ts';
import { createUser } from '../helpers/auth.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { buildDownload } from '../helpers/factories.ts';
import { WEBHOOK_SECRET, postCallback, postEvents } from '../helpers/intake.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const HUMAN = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
const clock = new ManualClock(new Date('2026-05-04T09:10:00Z'));
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ WEBHOOK_SECRET, EVENT_RETENTION_DAYS: '30', TOKEN_FAILURE_LIMIT: '1000' }, { clock });
});
afterAll(() => t?.close());

type Expected = Map<string, number>;
const slot = (granularity: string, bucket: Date, dimension: string, key: string) => `${granularity}|${bucket.toISOString()}|${dimension}|${key}`;

/** What the rollups must hold, computed from the raw event rows and the catalogue, independently of the writer. */
async function expectedFromRawEvents(): Promise<Expected> {
  const events = await t.db.downloadEvent.findMany();
  const downloads = await t.db.download.findMany({ include: { categories: true, labels: { include: { label: true } } } });
  const byId = new Map(downloads.map((d) => [d.id, d]));
  const expected: Expected = new Map();
  const add = (at: Date, dimension: string, key: string) => {
    for (const [granularity, bucket] of [['hour', hourOf(at)], ['day', dayOf(at)]] as const) {
      const k = slot(granularity, bucket, dimension, key);
      expected.set(k, (expected.get(k) ?? 0) + 1);
    }
  };
  for (const e of events) {
    // A download taken back (client gone) was still a request served: its outcome stays.
    add(e.occurredAt, 'outcome', e.reason === 'client_gone' ? 'served' : e.outcome);
    if (e.outcome === 'denied') add(e.occurredAt, 'refusal', e.reason!);
    if (!e.counted) continue;
    add(e.occurredAt, 'total', 'all');
    add(e.occurredAt, 'source', e.source);
    add(e.occurredAt, 'agent', e.agentClass ?? 'unknown');
    add(e.occurredAt, 'referrer', e.referrerHost ?? '(none)');
    const d = e.downloadId === null ? undefined : byId.get(e.downloadId);
    if (d) {
      add(e.occurredAt, 'download', String(d.id));
      for (const id of new Set([d.primaryCategoryId, ...d.categories.map((c) => c.categoryId)].filter((x) => x !== null))) add(e.occurredAt, 'category', String(id));
      for (const l of d.labels) add(e.occurredAt, 'label', `${l.label.class}:${l.label.name}`);
    }
    if (e.repository) add(e.occurredAt, 'repository', e.repository);
    add(e.occurredAt, 'type', e.artifactType ?? classifyArtifact(d?.fileName));
  }
  return expected;
}

async function actualRollups(): Promise<Expected> {
  const rows = await t.db.rollup.findMany({ where: { dimension: { notIn: ['completed', 'bytes'] } } });
  return new Map(rows.filter((r) => r.count !== 0n).map((r) => [slot(r.granularity, r.bucket, r.dimension, r.key), Number(r.count)]));
}

const sorted = (m: Expected) => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)));

describe('rollups against raw events', () => {
  let toolId: number;

  beforeAll(async () => {
    const tools = await t.deps.categories.create({ title: 'Tools' });
    const extras = await t.deps.categories.create({ title: 'Extras' });
    const tool = await buildDownload(t, {
      title: 'Tool',
      content: '0123456789abcdef',
      originalName: 'tool-1.0.jar',
      primaryCategoryId: tools.id,
      categoryIds: [extras.id],
      labels: 'Type:Installer, OS:Linux',
    });
    toolId = tool.id;
    const secret = await buildDownload(t, { title: 'Secret', requiresToken: true, labels: 'OS:Windows', originalName: 'report.txt' });
    const editor = await createUser(t, 'editor');
    const [token] = await t.deps.tokens.issue(secret.id, { maxDownloads: 1 }, editor.id);

    // Monday 09:xx: downloads of every kind from this server.
    await t.http.get(`/downloads/${tool.slug}/file`).set('User-Agent', HUMAN).set('Referer', 'https://example.org/tools?x=1').expect(200);
    await t.http.get(`/downloads/${tool.slug}/file`).set('User-Agent', 'curl/8.5.0').expect(200);
    await t.http.head(`/downloads/${tool.slug}/file`).expect(200);
    await t.http.get(`/downloads/${tool.slug}/file`).set('Range', 'bytes=5-').expect(206);
    await t.http.get(`/downloads/${secret.slug}/file`).expect(403);
    await t.http.get(`/downloads/${secret.slug}/file?token=dlt_nope`).expect(404);
    await t.http.get(`/downloads/${secret.slug}/file?token=${token!.secret}`).set('User-Agent', HUMAN).expect(200);
    await t.http.get(`/downloads/${secret.slug}/file?token=${token!.secret}`).expect(410);

    // 10:xx: downloads reported by CloudRepo and by another system.
    clock.advance(HOUR);
    for (const name of ['lib-1.0.jar', 'lib-1.0.pom', 'lib-1.0.jar.sha1', 'lib-1.0.zip']) {
      await postCallback(t, { 'file-name': name, filename: name, 'repository-id': 'releases' }).expect(200);
    }
    await postCallback(t, { 'file-name': 'lib-1.0.jar', filename: 'lib-1.0.jar', 'repository-id': 'releases' }).expect(200);
    await postEvents(t, { events: [{ id: 'm-1', source: 'mirror', download: tool.slug }, { id: 'm-2', source: 'mirror', file: 'other.tar.gz', repository: 'mirror-eu' }] }).expect(200);

    // Tuesday 23:59, the last minute of the day, and a download whose client went away.
    clock.set('2026-05-05T23:59:30Z');
    await t.http.get(`/downloads/${tool.slug}/file`).set('User-Agent', HUMAN).expect(200);
    await t.http.get(`/downloads/${tool.slug}/file`).set('User-Agent', HUMAN).expect(200);
    const gone = await t.db.downloadEvent.findFirstOrThrow({ where: { downloadId: tool.id }, orderBy: { id: 'desc' } });
    t.deps.recorder.retract(gone as unknown as DownloadEventRow);
    await t.deps.recorder.drain();
  });

  test('every hourly and daily bucket of every dimension equals the count of raw events', async () => {
    const expected = await expectedFromRawEvents();
    expect(expected.size).toBeGreaterThan(50);
    expect(sorted(await actualRollups())).toEqual(sorted(expected));
  });

  test('the scenario produced what it was meant to (so the comparison above means something)', async () => {
    const day = (dimension: string, key: string, at = '2026-05-04T00:00:00Z') =>
      t.db.rollup.findUnique({ where: { granularity_bucket_dimension_key: { granularity: 'day', bucket: new Date(at), dimension, key } } }).then((r) => Number(r?.count ?? 0));
    expect(await day('total', 'all')).toBe(2 + 1 + 4 + 2); // tool twice, secret once, CloudRepo 4 (the repeat not), mirror 2
    expect(await day('source', 'external:cloudrepo')).toBe(4);
    expect(await day('source', 'external:mirror')).toBe(2);
    expect(await day('type', 'crypto')).toBe(1);
    expect(await day('type', 'other')).toBe(1 + 1 + 1); // lib-1.0.zip, report.txt, other.tar.gz
    expect(await day('type', 'jar')).toBe(1 + 2 + 1); // CloudRepo's jar, tool-1.0.jar twice here, once via the mirror
    expect(await day('refusal', 'token_required')).toBe(1);
    expect(await day('refusal', 'token_invalid')).toBe(1);
    expect(await day('refusal', 'token_used_up')).toBe(1);
    expect(await day('agent', 'bot')).toBe(1);
    expect(await day('referrer', 'example.org')).toBe(1);
    expect(await day('download', String(toolId))).toBe(3);
    expect(await day('outcome', 'resumed')).toBe(1);
    // Tuesday: two downloads, one taken back.
    expect(await day('total', 'all', '2026-05-05T00:00:00Z')).toBe(1);
    expect(Number((await t.db.download.findUniqueOrThrow({ where: { id: toolId } })).downloadCount)).toBe(4);
  });

  test('pruning raw events past the retention changes no counter and no rollup', async () => {
    const rollupsBefore = await actualRollups();
    const countsBefore = (await t.db.download.findMany({ orderBy: { id: 'asc' } })).map((d) => d.downloadCount);
    const eventsBefore = await t.db.downloadEvent.count();

    clock.set(new Date(Date.parse('2026-05-04T10:30:00Z') + 30 * DAY));
    const report = await t.deps.eventRetention.prune();
    expect(report.events).toBe(eventsBefore - 2); // Tuesday's two are 29 days old
    expect(await t.db.downloadEvent.count()).toBe(2);

    expect(sorted(await actualRollups())).toEqual(sorted(rollupsBefore));
    expect((await t.db.download.findMany({ orderBy: { id: 'asc' } })).map((d) => d.downloadCount)).toEqual(countsBefore);
  });
});
