/**
 * Outgoing webhooks, against a real HTTP receiver: written to the outbox with the change they
 * report, delivered signed, retried with growing pauses up to the limit, safe with several
 * workers on one database, and never sent to private addresses unless allowed.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { PROJECT_ROOT } from '../../src/config.ts';
import { createWebhookSender } from '../../src/webhooks/webhook-sender.ts';
import { backoffMs, createWebhookWorker } from '../../src/webhooks/webhook-worker.ts';
import { signedInAgent } from '../helpers/auth.ts';
import { startTestApp, testEnv, type TestApp } from '../helpers/context.ts';
import { buildDownload } from '../helpers/factories.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const SECRET = 'endpoint-secret-0123456789abcdef';
const settings = {
  WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  WEBHOOK_MAX_ATTEMPTS: '3',
  WEBHOOK_RETRY_BASE: '100ms',
  WEBHOOK_POLL_INTERVAL: '20ms',
  WEBHOOK_TIMEOUT: '1s',
};

let t: TestApp;
let receiver: WebhookReceiver;

beforeAll(async () => {
  t = await startTestApp(settings);
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});
afterEach(async () => {
  await t.deps.webhookWorker.stop();
  await t.db.webhookEndpoint.deleteMany();
  receiver.received.length = 0;
  receiver.answer(200);
  receiver.delayMs = 0;
});

const addEndpoint = async (events: string[], url = receiver.url) => (await t.deps.webhooks.createEndpoint({ url, secret: SECRET, events })).id;
const deliveries = () => t.db.webhookDelivery.findMany({ orderBy: { id: 'asc' } });
const verify = (body: Buffer, header: unknown) => header === `sha256=${crypto.createHmac('sha256', SECRET).update(body).digest('hex')}`;

describe('changes to downloads are delivered, signed', () => {
  test('download.created reaches the endpoint with its signature, type and delivery id', async () => {
    await addEndpoint(['*']);
    const d = await buildDownload(t, { title: 'Release 1.0' });
    const [row] = await deliveries();
    expect(row).toMatchObject({ eventType: 'download.created', status: 'pending', attempts: 0 });

    t.deps.webhookWorker.start();
    await vi.waitFor(async () => expect((await deliveries())[0]).toMatchObject({ status: 'delivered', attempts: 1, lastStatusCode: 200, lastError: null }));
    const [request] = receiver.received;
    expect(request).toMatchObject({ method: 'POST', path: '/hook' });
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['x-webhook-event']).toBe('download.created');
    expect(request!.headers['x-webhook-delivery']).toBe(String(row!.id));
    expect(verify(request!.body, request!.headers['x-signature-256'])).toBe(true);
    const body = JSON.parse(request!.body.toString());
    expect(body).toMatchObject({ type: 'download.created', data: { slug: d.slug, title: 'Release 1.0' } });
  });

  test('each change sends its own type; an endpoint gets only the types it subscribes to', async () => {
    await addEndpoint(['download.updated', 'download.deleted']);
    const d = await buildDownload(t, {});
    await t.deps.downloads.update(d.id, { title: 'Renamed' });
    await t.deps.downloads.update(d.id, { deprecated: true });
    await t.deps.downloads.remove([d.id]);
    expect((await deliveries()).map((r) => r.eventType)).toEqual(['download.updated', 'download.updated', 'download.deleted']);
  });

  test('archive.imported is a type endpoints can subscribe to and the worker delivers', async () => {
    const id = await addEndpoint(['archive.imported']);
    await t.db.webhookDelivery.create({ data: { endpointId: id, eventType: 'archive.imported', payload: '{"type":"archive.imported","data":{"created":["a"]}}' } });
    expect(await t.deps.webhookWorker.runOnce()).toBe(1);
    expect(receiver.received[0]!.headers['x-webhook-event']).toBe('archive.imported');
  });
});

describe('failed deliveries are retried with growing pauses, up to the limit', () => {
  test('500, 503, then 200: delivered on the third attempt, after pauses of 100 ms and 200 ms', async () => {
    receiver.answer(500, 503, 200);
    await addEndpoint(['download.created']);
    await buildDownload(t, {});
    t.deps.webhookWorker.start();
    await vi.waitFor(async () => expect((await deliveries())[0]).toMatchObject({ status: 'delivered', attempts: 3, lastStatusCode: 200 }), { timeout: 5000 });
    const times = receiver.received.map((r) => r.at);
    expect(receiver.received.map((r) => r.headers['x-webhook-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(receiver.received.map((r) => r.headers['x-webhook-delivery'])).size).toBe(1);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(100);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(200);
  });

  test('after the last attempt the delivery is failed, keeps the last answer, and is not sent again', async () => {
    receiver.answer(500);
    await addEndpoint(['download.created']);
    await buildDownload(t, {});
    t.deps.webhookWorker.start();
    await vi.waitFor(async () => expect((await deliveries())[0]).toMatchObject({ status: 'failed', attempts: 3, lastStatusCode: 500, lastError: 'HTTP 500' }), { timeout: 5000 });
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.received).toHaveLength(3);
  });

  test('an admin retries a failed delivery from the page: one more attempt, now delivered', async () => {
    receiver.answer(500);
    await addEndpoint(['download.created']);
    await buildDownload(t, {});
    for (let i = 0; i < 3; i++) {
      await t.db.webhookDelivery.updateMany({ data: { nextAttemptAt: new Date() } });
      await t.deps.webhookWorker.runOnce();
    }
    const [failed] = await deliveries();
    expect(failed).toMatchObject({ status: 'failed', attempts: 3 });

    receiver.answer(200);
    t.deps.webhookWorker.start();
    const { agent, csrf } = await signedInAgent(t, 'admin');
    await agent.post(`/admin/webhooks/deliveries/${failed!.id}/retry`).type('form').send({ _csrf: csrf }).expect(303);
    await vi.waitFor(async () => expect((await deliveries())[0]).toMatchObject({ status: 'delivered', attempts: 4, lastStatusCode: 200 }));
    expect(receiver.received).toHaveLength(4);
  });

  test('no answer within WEBHOOK_TIMEOUT is a failed attempt, retried', async () => {
    receiver.answer('hang', 200);
    await addEndpoint(['download.created']);
    await buildDownload(t, {});
    const started = Date.now();
    await t.deps.webhookWorker.runOnce();
    expect(Date.now() - started).toBeLessThan(3000);
    expect((await deliveries())[0]).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: null, lastError: 'no answer within 1 s' });
  });

  test('a refused connection is a failed attempt too', async () => {
    const closed = await startWebhookReceiver();
    await closed.close();
    await addEndpoint(['download.created'], closed.url);
    await buildDownload(t, {});
    await t.deps.webhookWorker.runOnce();
    expect((await deliveries())[0]).toMatchObject({ status: 'pending', attempts: 1, lastError: 'connection refused' });
  });

  test('the backoff doubles from WEBHOOK_RETRY_BASE and never passes a day', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, 30_000))).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(backoffMs(40, 30_000)).toBe(24 * 3_600_000);
  });
});

describe('download.requested', () => {
  test('a served download is written to the outbox with its event, only for subscribed endpoints', async () => {
    const d = await buildDownload(t, { title: 'Hot file' });
    await t.http.get(`/downloads/${d.slug}/file`).expect(200);
    expect(await deliveries()).toEqual([]); // nobody subscribes: nothing written

    await addEndpoint(['download.requested']);
    await addEndpoint(['download.created']);
    await t.http.get(`/downloads/${d.slug}/file`).set('Referer', 'https://ref.example/').expect(200);
    await t.http.head(`/downloads/${d.slug}/file`).expect(200); // not a download: not reported
    const rows = await deliveries();
    expect(rows.map((r) => r.eventType)).toEqual(['download.requested']);
    const event = await t.db.downloadEvent.findFirstOrThrow({ where: { downloadId: d.id, counted: true }, orderBy: { id: 'desc' } });
    expect(JSON.parse(rows[0]!.payload)).toMatchObject({
      type: 'download.requested',
      data: { event: { id: event.id, source: 'server', outcome: 'served', referrerHost: 'ref.example' }, download: { id: d.id, slug: d.slug, title: 'Hot file' } },
    });
    expect(await t.deps.webhookWorker.runOnce()).toBe(1);
    expect(receiver.received[0]!.headers['x-webhook-event']).toBe('download.requested');
  });

  test('the outbox row is part of the event\'s transaction: if it cannot be written, neither is the event', async () => {
    const d = await buildDownload(t, {});
    const id = await addEndpoint(['download.requested']);
    // Removed behind the service's back: the subscription cache still names it, and its outbox
    // row now breaks the batch's foreign key.
    await t.db.webhookEndpoint.delete({ where: { id } });
    const res = await t.http.get(`/downloads/${d.slug}/file`).expect(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(await t.db.downloadEvent.count({ where: { downloadId: d.id, counted: true } })).toBe(0);
    expect(Number((await t.db.download.findUniqueOrThrow({ where: { id: d.id } })).downloadCount)).toBe(0);
  });
});

describe('several instances on one database', () => {
  test('40 deliveries, this worker and another process\'s passing at once: each delivered exactly once', async () => {
    const id = await addEndpoint(['archive.imported']);
    await t.db.webhookDelivery.createMany({ data: Array.from({ length: 40 }, (_, i) => ({ endpointId: id, eventType: 'archive.imported', payload: `{"n":${i}}` })) });
    const other = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'tests', 'fixtures', 'scripts', 'webhook-worker-process.ts')], {
      env: { ...process.env, ...testEnv({ DATABASE_URL: t.config.database.url, MEDIA_ROOT: t.mediaRoot, ...settings }) },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    other.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => other.once('exit', resolve));
    await vi.waitFor(() => expect(out).toBe('ready\n'), { timeout: 20_000 });
    receiver.delayMs = 20;
    other.stdin.end('go\n');
    let here = 0;
    while (other.exitCode === null) {
      here += await t.deps.webhookWorker.runOnce();
      await new Promise((r) => setImmediate(r));
    }
    here += await t.deps.webhookWorker.runOnce();
    expect(await exited).toBe(0);
    const there = Number(out.trim().split('\n').pop());
    expect(here + there).toBe(40);
    expect(here, 'both workers took part').toBeGreaterThan(0);
    expect(there, 'both workers took part').toBeGreaterThan(0);
    const ids = receiver.received.map((r) => r.headers['x-webhook-delivery']);
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(40);
    expect(await t.db.webhookDelivery.count({ where: { status: 'delivered', attempts: 1 } })).toBe(40);
  });
});

describe('the worker stops cleanly', () => {
  test('stop() waits for the send in flight, and nothing is sent after it', async () => {
    receiver.answer('hang');
    await addEndpoint(['download.created']);
    await buildDownload(t, {});
    t.deps.webhookWorker.start();
    await vi.waitFor(() => expect(receiver.received).toHaveLength(1));
    const started = Date.now();
    await t.deps.webhookWorker.stop();
    expect(Date.now() - started).toBeLessThan(2000); // bounded by WEBHOOK_TIMEOUT
    receiver.answer(200);
    await t.db.webhookDelivery.updateMany({ data: { nextAttemptAt: new Date() } });
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.received).toHaveLength(1);
  });
});

describe('private addresses (SSRF)', () => {
  test('by default a name that resolves to loopback is refused at connection time, and nothing is sent', async () => {
    const send = createWebhookSender({ timeoutMs: 1000, allowPrivate: false });
    const url = receiver.url.replace('127.0.0.1', 'localhost');
    const result = await send({ url, secret: SECRET }, { id: 1, eventType: 'download.created', payload: '{}', attempt: 1 });
    expect(result).toMatchObject({ ok: false, status: null, error: expect.stringMatching(/private or local address/) });
    const literal = await send({ url: 'http://169.254.169.254/latest/meta-data/', secret: SECRET }, { id: 2, eventType: 'download.created', payload: '{}', attempt: 1 });
    expect(literal.error).toBe('169.254.169.254 is a private or local address (WEBHOOK_ALLOW_PRIVATE_TARGETS is off)');
    expect(receiver.received).toHaveLength(0);
  });

  test('a worker built without the permission records the refusal on the delivery', async () => {
    const id = await addEndpoint(['archive.imported']);
    await t.db.webhookDelivery.create({ data: { endpointId: id, eventType: 'archive.imported', payload: '{}' } });
    const strict = createWebhookWorker({ db: t.db, clock: t.clock, log: t.deps.log, config: { ...t.config.webhooks, allowPrivateTargets: false } });
    await strict.runOnce();
    expect((await deliveries())[0]!.lastError).toMatch(/^127\.0\.0\.1 is a private or local address/);
    expect(receiver.received).toHaveLength(0);
  });
});
