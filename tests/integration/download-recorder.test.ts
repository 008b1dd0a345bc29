/** The group-commit recorder and its batch writer, on the real database (SQLite or PostgreSQL). */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { DownloadEventRow } from '../../src/events/download-recorder.ts';
import { createDownloadRecorder } from '../../src/events/download-recorder.ts';
import { createEventBatchWriter, dayOf, hourOf } from '../../src/events/event-batch-writer.ts';
import { newEventId } from '../../src/lib/event-ids.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { buildDownload } from '../helpers/factories.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.close());

function event(downloadId: number | null, overrides: Partial<DownloadEventRow> = {}): DownloadEventRow {
  return {
    id: newEventId(),
    occurredAt: new Date('2026-03-04T10:15:00Z'),
    downloadId,
    source: 'server',
    outcome: 'served',
    reason: null,
    counted: true,
    method: 'GET',
    status: 200,
    rangeStart: null,
    rangeEnd: null,
    userId: null,
    tokenId: null,
    bypass: false,
    ip: '203.0.113.0',
    userAgent: 'curl/8',
    agentClass: 'bot',
    referrer: null,
    referrerHost: null,
    ...overrides,
  };
}

const count = async (id: number) => Number((await t.db.download.findUniqueOrThrow({ where: { id } })).downloadCount);

describe('group commit', () => {
  test('500 concurrent records share a few transactions and count exactly', async () => {
    const d = await buildDownload(t, {});
    const batches: number[] = [];
    const recorder = createDownloadRecorder({ write: createEventBatchWriter(t.deps.database), log: t.deps.log, onBatch: (n) => batches.push(n) });
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => recorder.record(event(d.id, { counted: i % 5 !== 0 }))));
    expect(results.every(Boolean)).toBe(true);
    expect(await count(d.id)).toBe(400);
    expect(await t.db.downloadEvent.count({ where: { downloadId: d.id } })).toBe(500);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(500);
    expect(batches.length).toBeLessThan(10);
  });

  test('stored timestamps and values read back through Prisma as written', async () => {
    const d = await buildDownload(t, {});
    const recorder = createDownloadRecorder({ write: createEventBatchWriter(t.deps.database), log: t.deps.log });
    const e = event(d.id, { rangeStart: 1024n, rangeEnd: 2047n, bypass: true, counted: false, outcome: 'not_counted', reason: 'bypass' });
    await recorder.record(e);
    const row = await t.db.downloadEvent.findUniqueOrThrow({ where: { id: e.id } });
    expect(row).toMatchObject({ occurredAt: e.occurredAt, rangeStart: 1024n, rangeEnd: 2047n, bypass: true, counted: false, reason: 'bypass' });
    expect(await t.db.downloadEvent.count({ where: { occurredAt: { gte: new Date('2026-03-04T10:00:00Z'), lt: new Date('2026-03-04T11:00:00Z') }, id: e.id } })).toBe(1);
  });

  test('an event whose dedupeKey is already stored is skipped and counts nothing', async () => {
    const d = await buildDownload(t, {});
    const recorder = createDownloadRecorder({ write: createEventBatchWriter(t.deps.database), log: t.deps.log });
    const [first, second] = await Promise.all([
      recorder.record(event(d.id, { dedupeKey: 'delivery-1' })),
      recorder.record(event(d.id, { dedupeKey: 'delivery-1' })),
    ]);
    expect([first, second].sort()).toEqual([false, true]);
    expect(await recorder.record(event(d.id, { dedupeKey: 'delivery-1' }))).toBe(false);
    expect(await count(d.id)).toBe(1);
  });

  test('a retracted event gives back its count, once', async () => {
    const d = await buildDownload(t, {});
    const recorder = createDownloadRecorder({ write: createEventBatchWriter(t.deps.database), log: t.deps.log });
    const e = event(d.id);
    await recorder.record(e);
    recorder.retract(e);
    recorder.retract(e);
    await recorder.drain();
    expect(await count(d.id)).toBe(0);
    expect(await t.db.downloadEvent.findUniqueOrThrow({ where: { id: e.id } })).toMatchObject({ counted: false, outcome: 'not_counted', reason: 'client_gone' });
  });

  test('rollup increments land in hour and day buckets, and retractions take them back', async () => {
    const d = await buildDownload(t, {});
    const write = createEventBatchWriter(t.deps.database, (e) => [['download', String(e.downloadId)], ['outcome', e.outcome]]);
    const recorder = createDownloadRecorder({ write, log: t.deps.log });
    const events = [event(d.id), event(d.id), event(d.id, { counted: false, outcome: 'resumed' })];
    await Promise.all(events.map((e) => recorder.record(e)));
    recorder.retract(events[0]!);
    await recorder.drain();
    const rollup = (granularity: string, bucket: Date, dimension: string, key: string) =>
      t.db.rollup.findUnique({ where: { granularity_bucket_dimension_key: { granularity, bucket, dimension, key } } });
    const at = events[0]!.occurredAt;
    expect(Number((await rollup('hour', hourOf(at), 'download', String(d.id)))?.count)).toBe(2);
    expect(Number((await rollup('day', dayOf(at), 'download', String(d.id)))?.count)).toBe(2);
    // Requests by outcome are not downloads: a retraction leaves them.
    expect(Number((await rollup('day', dayOf(at), 'outcome', 'served'))?.count)).toBe(2);
    expect(Number((await rollup('day', dayOf(at), 'outcome', 'resumed'))?.count)).toBe(1);
  });

  test('a failing write rejects every waiting request with 503 and Retry-After', async () => {
    const recorder = createDownloadRecorder({ write: async () => Promise.reject(new Error('disk on fire')), log: t.deps.log });
    await expect(recorder.record(event(null))).rejects.toMatchObject({ status: 503, code: 'RECORDING_FAILED', headers: { 'Retry-After': '1' } });
  });
});
