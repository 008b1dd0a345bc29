/**
 * Started versus completed downloads in LOCAL mode: the nginx access log, read by
 * `ingest-nginx-log` from a file or standard input, marks events completed with their bytes, and
 * the `completed` and `bytes` rollups follow, once however often the log is read.
 */
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { buildDownload } from '../helpers/factories.ts';
import { runCli } from '../helpers/processes.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ DOWNLOAD_SERVE_FROM: 'LOCAL' });
});
afterAll(() => t?.close());

const logLine = (event: string, over: Record<string, string> = {}) =>
  JSON.stringify({
    time: new Date().toISOString(),
    msec: String(Date.now() / 1000),
    request_id: crypto.randomBytes(16).toString('hex'),
    method: 'GET',
    path: '/downloads/x/file',
    status: '200',
    body_bytes_sent: '1000',
    request_completion: 'OK',
    request_time: '0.010',
    event,
    ...over,
  });

async function served(range?: string) {
  const d = await buildDownload(t, { content: 'y'.repeat(1000) });
  const req = t.http.get(`/downloads/${d.slug}/file`);
  const res = await (range ? req.set('Range', range) : req);
  return res.headers['x-download-event'] as string;
}

async function totals() {
  const sum = async (dimension: string) =>
    Number((await t.db.rollup.aggregate({ where: { granularity: 'day', dimension }, _sum: { count: true } }))._sum.count ?? 0);
  const hourly = async (dimension: string) =>
    Number((await t.db.rollup.aggregate({ where: { granularity: 'hour', dimension }, _sum: { count: true } }))._sum.count ?? 0);
  return { started: await sum('total'), completed: await sum('completed'), bytes: await sum('bytes'), completedHourly: await hourly('completed'), bytesHourly: await hourly('bytes') };
}

describe('completed transfers', () => {
  test('a complete download counts as completed with its bytes; a cut one and a resume add only bytes', async () => {
    const before = await totals();
    const full = await served();
    const cut = await served();
    const resume = await served('bytes=500-');
    const lines = [logLine(full), logLine(cut, { request_completion: '', body_bytes_sent: '300' }), logLine(resume, { status: '206', body_bytes_sent: '500' })].join('\n');
    const report = await t.deps.ingestNginxLog(Readable.from(lines));
    expect(report).toMatchObject({ events: 3, completed: 2, abandoned: 1 });

    const after = await totals();
    expect(after.started - before.started).toBe(2); // the resume is not a new download
    expect(after.completed - before.completed).toBe(1); // the resume completed, but was not counted
    expect(after.bytes - before.bytes).toBe(1000 + 300 + 500);
    expect([after.completedHourly, after.bytesHourly]).toEqual([after.completed, after.bytes]);

    // The same log again changes nothing.
    await t.deps.ingestNginxLog(Readable.from(lines));
    expect(await totals()).toEqual(after);
  });

  test('a later line for the same event moves the rollups by the difference only', async () => {
    const id = await served();
    await t.deps.ingestNginxLog(Readable.from(logLine(id, { request_completion: '', body_bytes_sent: '200' })));
    const before = await totals();
    await t.deps.ingestNginxLog(Readable.from(logLine(id)));
    const after = await totals();
    expect([after.completed - before.completed, after.bytes - before.bytes]).toEqual([1, 800]);
  });

  test('the dashboard shows started and completed downloads side by side', async () => {
    const now = new Date();
    const dashboard = await t.deps.analytics.dashboard({ from: new Date(Date.parse(now.toISOString().slice(0, 10)) - 86_400_000), to: new Date(Date.parse(now.toISOString().slice(0, 10)) + 86_400_000) });
    const rows = Object.fromEntries(dashboard.sections.find((s) => s.id === 'totals')!.rows.map((r) => [r.key, r.values[0]]));
    const { started, completed, bytes } = await totals();
    expect(rows).toMatchObject({ downloads: started, completed, bytes });
  });
});

describe('npm run cli -- ingest-nginx-log reads standard input', () => {
  test.each([['with "-"', ['-']], ['with no file argument', []]])('%s', async (_name, args) => {
    const id = await served();
    const before = await totals();
    const env = { DATABASE_URL: t.config.database.url, MEDIA_ROOT: t.mediaRoot, LOG_LEVEL: 'warn' };
    const result = runCli(['ingest-nginx-log', ...args], env, `${logLine(id)}\nnot json\n`);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ lines: 2, events: 1, completed: 1, malformed: 1 });
    expect(await t.db.downloadEvent.findUniqueOrThrow({ where: { id } })).toMatchObject({ completed: true, bytesSent: 1000n });
    const after = await totals();
    expect([after.completed - before.completed, after.bytes - before.bytes]).toEqual([1, 1000]);
  });
});
