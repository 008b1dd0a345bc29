/**
 * POST /callback, CloudRepo's download webhook (reference/seeds.md §2.3), and POST /api/v1/events
 * for other systems: authenticated, classified in the seed's order without its crash, counted
 * once per delivery, and refusing bad requests without writing anything.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { buildDownload } from '../helpers/factories.ts';
import { WEBHOOK_SECRET, postCallback, postEvents, sign } from '../helpers/intake.ts';

const HOUR = 3_600_000;
const clock = new ManualClock(new Date('2026-06-01T08:00:00Z'));
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ WEBHOOK_SECRET }, { clock });
});
afterAll(() => t?.close());

/** Events and rollups as they are, to show that a refused request wrote nothing. */
const snapshot = async () => ({ events: await t.db.downloadEvent.count(), rollups: await t.db.rollup.findMany({ orderBy: [{ bucket: 'asc' }, { dimension: 'asc' }, { key: 'asc' }] }) });
const externalEvents = (artifact: string) => t.db.downloadEvent.findMany({ where: { artifact } });

describe('POST /callback accepts CloudRepo downloads', () => {
  test('a signed delivery answers {"success": true} and becomes an external event with repository and artifact', async () => {
    const res = await postCallback(t, { 'file-name': 'acme-core-1.2.jar', filename: 'acme-core-1.2.jar', 'repository-id': 'releases' }).expect(200);
    expect(res.body).toEqual({ success: true });
    const [event] = await externalEvents('acme-core-1.2.jar');
    expect(event).toMatchObject({
      source: 'external:cloudrepo',
      repository: 'releases',
      artifact: 'acme-core-1.2.jar',
      artifactType: 'jar',
      counted: true,
      outcome: 'served',
      downloadId: null,
      occurredAt: clock.now(),
    });
  });

  test('the secret may come in the query string instead of a signature', async () => {
    await t.http.post(`/callback?secret=${encodeURIComponent(WEBHOOK_SECRET)}`).send({ 'file-name': 'by-query.pom', 'repository-id': 'r' }).expect(200, { success: true });
    expect(await externalEvents('by-query.pom')).toHaveLength(1);
  });

  test.each([
    ['lib-1.0.jar', 'jar'],
    ['lib-1.0-sources.jar', 'jar'],
    ['lib-1.0.pom', 'pom'],
    ['pom.xml', 'pom'],
    ['lib-1.0.jar.sha1', 'crypto'],
    ['lib-1.0.jar.sha256', 'crypto'],
    ['lib-1.0.pom.md5', 'crypto'],
    ['lib-1.0.zip', 'other'],
    ['maven-metadata.xml', 'other'],
    ['README', 'other'],
    ['shaded.jar', 'jar'], // the seed's substring test made this a checksum
  ])('%s is classified as %s', async (name, type) => {
    await postCallback(t, { 'file-name': name, filename: name, 'repository-id': 'types' }).expect(200, { success: true });
    const events = await t.db.downloadEvent.findMany({ where: { artifact: name, repository: 'types' } });
    expect(events.map((e) => e.artifactType)).toEqual([type]);
  });

  test('either file name key is enough; with both, counts key on file-name and the type on filename (as the seed)', async () => {
    await postCallback(t, { filename: 'only-filename.jar', 'repository-id': 'keys' }).expect(200);
    await postCallback(t, { 'file-name': 'only-file-name.pom', 'repository-id': 'keys' }).expect(200);
    await postCallback(t, { 'file-name': 'listed-name', filename: 'listed-name.jar.md5', 'repository-id': 'keys' }).expect(200);
    const events = await t.db.downloadEvent.findMany({ where: { repository: 'keys' }, orderBy: { artifact: 'asc' } });
    expect(events.map((e) => [e.artifact, e.artifactType])).toEqual([
      ['listed-name', 'crypto'],
      ['only-file-name.pom', 'pom'],
      ['only-filename.jar', 'jar'],
    ]);
  });

  test('a delivery without repository-id is counted without a repository', async () => {
    await postCallback(t, { 'file-name': 'no-repo.jar' }).expect(200);
    expect((await externalEvents('no-repo.jar'))[0]).toMatchObject({ repository: null });
  });
});

describe('a repeated delivery is acknowledged and counted once', () => {
  test('the same body again is not counted', async () => {
    const body = { 'file-name': 'twice.jar', 'repository-id': 'r' };
    await postCallback(t, body).expect(200, { success: true });
    await postCallback(t, body).expect(200, { success: true });
    expect(await externalEvents('twice.jar')).toHaveLength(1);
  });

  test('five identical deliveries at once are counted once', async () => {
    const body = { 'file-name': 'at-once.jar', 'repository-id': 'r' };
    const answers = await Promise.all(Array.from({ length: 5 }, () => postCallback(t, body)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(await externalEvents('at-once.jar')).toHaveLength(1);
  });

  test('the same id is a repeat even when the body differs', async () => {
    await postCallback(t, { id: 'delivery-77', 'file-name': 'by-id.jar', 'repository-id': 'r' }).expect(200);
    await postCallback(t, { id: 'delivery-77', 'file-name': 'by-id.jar', 'repository-id': 'r', retry: 2 }).expect(200);
    expect(await externalEvents('by-id.jar')).toHaveLength(1);
  });

  test('"within 24 hours" is measured from the counted delivery to the millisecond, not by calendar day', async () => {
    const body = { 'file-name': 'window.jar', 'repository-id': 'r' };
    clock.set('2026-06-01T23:30:00Z');
    await postCallback(t, body).expect(200);
    clock.set('2026-06-02T00:30:00Z'); // another calendar day, one hour later: a repeat
    await postCallback(t, body).expect(200);
    clock.set(new Date(Date.parse('2026-06-01T23:30:00Z') + 24 * HOUR - 1)); // one millisecond short of 24 h
    await postCallback(t, body).expect(200);
    expect(await externalEvents('window.jar')).toHaveLength(1);
    clock.set(new Date(Date.parse('2026-06-01T23:30:00Z') + 24 * HOUR)); // 24 h: a new download
    await postCallback(t, body).expect(200);
    clock.advance(HOUR); // and its own 24 h start now
    await postCallback(t, body).expect(200);
    const events = await externalEvents('window.jar');
    expect(events.map((e) => e.occurredAt.toISOString()).sort()).toEqual(['2026-06-01T23:30:00.000Z', '2026-06-02T23:30:00.000Z']);
    clock.set('2026-06-01T08:00:00Z');
  });
});

describe('bad requests are refused and write nothing', () => {
  let before: Awaited<ReturnType<typeof snapshot>>;
  beforeEach(async () => {
    before = await snapshot();
  });
  const nothingWritten = async () => expect(await snapshot()).toEqual(before);
  const body = JSON.stringify({ 'file-name': 'refused.jar', 'repository-id': 'r' });
  const post = () => t.http.post('/callback').set('Content-Type', 'application/json');

  test.each([
    ['no secret at all', () => post().send(body)],
    ['a wrong query secret', () => t.http.post('/callback?secret=wrong-secret-of-some-length').set('Content-Type', 'application/json').send(body)],
    ['a signature made with another secret', () => post().set('X-Signature-256', sign(body, 'another-secret-0123456789')).send(body)],
    ['a signature of another body', () => post().set('X-Signature-256', sign(`${body} `)).send(body)],
    ['a malformed signature', () => post().set('X-Signature-256', 'sha256=zz').send(body)],
    ['a signature without its sha256= prefix', () => post().set('X-Signature-256', sign(body).slice(7)).send(body)],
    ['a right query secret with a wrong signature', () => t.http.post(`/callback?secret=${WEBHOOK_SECRET}`).set('Content-Type', 'application/json').set('X-Signature-256', sign('x')).send(body)],
    ['an unsigned body that is not even JSON', () => post().send('{"file-name":')],
  ])('401 for %s', async (_name, send) => {
    const res = await send();
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('SIGNATURE_INVALID');
    await nothingWritten();
  });

  test.each([
    ['a body that is not JSON', '{"file-name": "x.jar",', 'BAD_JSON'],
    ['an empty body', '', 'BAD_JSON'],
    ['a JSON array', '[{"file-name": "x.jar"}]', 'PAYLOAD_INVALID'],
    ['a JSON string', '"x.jar"', 'PAYLOAD_INVALID'],
    ['no file name', '{"repository-id": "r"}', 'PAYLOAD_INVALID'],
    ['a file name that is not a string', '{"file-name": 12, "repository-id": "r"}', 'PAYLOAD_INVALID'],
    ['an empty file name', '{"file-name": "  ", "repository-id": "r"}', 'PAYLOAD_INVALID'],
  ])('400 for %s (signed)', async (_name, raw, code) => {
    const res = await post().set('X-Signature-256', sign(raw)).send(raw);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(code);
    await nothingWritten();
  });

  test('413 for a body over 64 KiB, before any signature work', async () => {
    const big = JSON.stringify({ 'file-name': 'big.jar', padding: 'x'.repeat(70 * 1024) });
    const res = await post().set('X-Signature-256', sign(big)).send(big);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    await nothingWritten();
  });

  test.each([
    ['text/plain', 'text/plain'],
    ['a form', 'application/x-www-form-urlencoded'],
    ['no content type', undefined],
  ])('415 for %s', async (_name, type) => {
    const req = t.http.post('/callback').set('X-Signature-256', sign(body));
    const res = await (type ? req.set('Content-Type', type) : req).send(Buffer.from(body));
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    await nothingWritten();
  });

  test('GET /callback is 405 with Allow: POST', async () => {
    const res = await t.http.get('/callback').expect(405);
    expect(res.headers.allow).toBe('POST');
  });
});

describe('POST /api/v1/events takes downloads from any other system', () => {
  test('one event, or a batch, counted once per id and source', async () => {
    await postEvents(t, { id: 'e-1', source: 'mirror-eu', file: 'tool-2.0.tar.gz', repository: 'stable' }).expect(200, { accepted: 1, duplicates: 0 });
    const res = await postEvents(t, {
      events: [
        { id: 'e-1', source: 'mirror-eu', file: 'tool-2.0.tar.gz', repository: 'stable' },
        { id: 'e-2', source: 'mirror-eu', file: 'tool-2.0.jar', occurredAt: '2026-06-01T07:00:00Z', userAgent: 'curl/8', referrer: 'https://ref.example/x' },
        { id: 'e-1', source: 'mirror-us', file: 'tool-2.0.tar.gz' },
      ],
    }).expect(200);
    expect(res.body).toEqual({ accepted: 2, duplicates: 1 });
    const events = await t.db.downloadEvent.findMany({ where: { source: { in: ['external:mirror-eu', 'external:mirror-us'] } }, orderBy: { id: 'asc' } });
    expect(events).toHaveLength(3);
    expect(events.find((e) => e.artifact === 'tool-2.0.jar')).toMatchObject({
      occurredAt: new Date('2026-06-01T07:00:00Z'),
      artifactType: 'jar',
      agentClass: 'bot',
      referrerHost: 'ref.example',
    });
  });

  test('an event naming one of our downloads counts for it', async () => {
    const d = await buildDownload(t, { title: 'Mirrored' });
    await postEvents(t, { id: 'mirrored-1', source: 'cdn', download: d.slug }).expect(200, { accepted: 1, duplicates: 0 });
    expect(Number((await t.db.download.findUniqueOrThrow({ where: { id: d.id } })).downloadCount)).toBe(1);
  });

  test.each([
    ['an unknown download', { events: [{ id: 'ok-1', file: 'fine.zip' }, { id: 'x-1', download: 'no-such-download' }] }, 'Event 1: there is no download'],
    ['an event in the future', { id: 'x-2', file: 'a.zip', occurredAt: '2026-06-01T09:00:00Z' }, 'Event 0: occurredAt is in the future'],
    ['an event older than the retention', { id: 'x-3', file: 'a.zip', occurredAt: '2026-01-01T00:00:00Z' }, 'older than the 90 days'],
    ['neither file nor download', { id: 'x-4' }, 'Event 0: file: needs "file" or "download"'],
    ['no id', { file: 'a.zip' }, 'Event 0: id'],
    ['a source with capitals and spaces', { id: 'x-5', file: 'a.zip', source: 'My Mirror' }, 'Event 0: source'],
    ['an unknown type', { id: 'x-6', file: 'a.zip', type: 'exe' }, 'Event 0: type'],
    ['an empty batch', { events: [] }, 'events: at least one event'],
    ['too many events', { events: Array.from({ length: 501 }, (_, i) => ({ id: `b-${i}`, file: 'a.zip' })) }, 'events: at most 500 events'],
  ])('422 for %s, and no event of the request is written', async (_name, payload, message) => {
    const before = await snapshot();
    const res = await postEvents(t, payload).expect(422);
    expect(res.body.error.message).toContain(message);
    expect(await snapshot()).toEqual(before);
  });

  test('the same secret and the same refusals as /callback', async () => {
    await t.http.post('/api/v1/events').set('Content-Type', 'application/json').send('{"id":"u","file":"a"}').expect(401);
    await t.http.post('/api/v1/events').set('Content-Type', 'application/json').set('X-Signature-256', sign('{"id":')).send('{"id":').expect(400);
    await t.http.post('/api/v1/events').set('Content-Type', 'text/plain').send('{}').expect(415);
  });
});

describe('without WEBHOOK_SECRET the intake is off', () => {
  let off: TestApp;
  beforeAll(async () => {
    off = await startTestApp();
  });
  afterAll(() => off?.close());

  test.each(['/callback', '/api/v1/events'])('POST %s answers 404 with a JSON error saying why', async (path) => {
    const res = await off.http.post(path).set('Content-Type', 'application/json').send({ 'file-name': 'x.jar', id: 'x', file: 'x' }).expect(404);
    expect(res.body.error).toMatchObject({ code: 'INTAKE_DISABLED', message: expect.stringContaining('WEBHOOK_SECRET') });
    expect(await off.db.downloadEvent.count()).toBe(0);
  });
});
