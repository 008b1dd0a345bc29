/** The serve handler in APP mode (the default): the app streams files with res.download. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signedInAgent } from '../helpers/auth.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { buildDownload } from '../helpers/factories.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.close());

const countOf = async (id: number) => Number((await t.db.download.findUniqueOrThrow({ where: { id } })).downloadCount);
const eventsOf = (downloadId: number) => t.db.downloadEvent.findMany({ where: { downloadId }, orderBy: { id: 'asc' } });
const sha256 = (data: Buffer | string) => crypto.createHash('sha256').update(data).digest('hex');
const binary = (res: http.IncomingMessage, cb: (e: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
};

describe('serving a stored file', () => {
  test('sends the bytes with the served name, an inert policy and validators, and counts once', async () => {
    const content = crypto.randomBytes(50_000);
    const d = await buildDownload(t, { title: 'Served', content, originalName: 'tool 1.0 ☃.tar.gz' });
    const res = await t.http.get(`/downloads/${d.slug}/file`).buffer(true).parse(binary as never).expect(200);
    expect(sha256(res.body)).toBe(sha256(content));
    expect(res.headers['content-disposition']).toBe(`attachment; filename="tool 1.0 ?.tar.gz"; filename*=UTF-8''tool%201.0%20%E2%98%83.tar.gz`);
    expect(res.headers['content-type']).toBe('application/gzip');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toBe("default-src 'none'; sandbox");
    expect(res.headers.etag).toBe(`"${sha256(content)}"`);
    expect(res.headers['last-modified']).toBeDefined();
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(await countOf(d.id)).toBe(1);
    const [event] = await eventsOf(d.id);
    expect(event).toMatchObject({ outcome: 'served', counted: true, method: 'GET', status: 200, source: 'server', ip: '127.0.0.0' });
  });

  test('HEAD answers headers without a body and is not counted', async () => {
    const d = await buildDownload(t, { content: 'head me' });
    const res = await t.http.head(`/downloads/${d.slug}/file`).expect(200);
    expect(res.headers['content-length']).toBe('7');
    expect(res.text ?? '').toBe('');
    expect(await countOf(d.id)).toBe(0);
    expect((await eventsOf(d.id))[0]).toMatchObject({ outcome: 'not_counted', reason: 'head', method: 'HEAD' });
  });

  test('Range from byte 0 counts; a later Range is a resume and does not; 416 neither', async () => {
    const d = await buildDownload(t, { content: '0123456789' });
    const first = await t.http.get(`/downloads/${d.slug}/file`).set('Range', 'bytes=0-3').expect(206);
    expect(first.text).toBe('0123');
    const resume = await t.http.get(`/downloads/${d.slug}/file`).set('Range', 'bytes=4-').expect(206);
    expect(resume.text).toBe('456789');
    expect(resume.headers['content-range']).toBe('bytes 4-9/10');
    await t.http.get(`/downloads/${d.slug}/file`).set('Range', 'bytes=50-').expect(416);
    expect(await countOf(d.id)).toBe(1);
    expect((await eventsOf(d.id)).map((e) => [e.outcome, e.reason, e.status, Number(e.rangeStart)])).toEqual([
      ['served', null, 206, 0],
      ['resumed', 'range', 206, 4],
      ['not_counted', 'range_unsatisfiable', 416, 0],
    ]);
  });

  test('a conditional GET answers 304 and is not counted; If-Range with an old validator gets the whole file', async () => {
    const d = await buildDownload(t, { content: 'conditional' });
    const first = await t.http.get(`/downloads/${d.slug}/file`).expect(200);
    await t.http.get(`/downloads/${d.slug}/file`).set('If-None-Match', first.headers.etag as string).expect(304);
    await t.http.get(`/downloads/${d.slug}/file`).set('If-Modified-Since', first.headers['last-modified'] as string).expect(304);
    const stale = await t.http.get(`/downloads/${d.slug}/file`).set('Range', 'bytes=5-').set('If-Range', '"old"').expect(200);
    expect(stale.text).toBe('conditional');
    const fresh = await t.http.get(`/downloads/${d.slug}/file`).set('Range', 'bytes=5-').set('If-Range', first.headers.etag as string).expect(206);
    expect(fresh.text).toBe('tional');
    expect(await countOf(d.id)).toBe(2);
    expect((await eventsOf(d.id)).map((e) => e.reason)).toEqual([null, 'not_modified', 'not_modified', null, 'range']);
  });

  test('prefetches are served but not counted', async () => {
    const d = await buildDownload(t, { content: 'prefetch' });
    await t.http.get(`/downloads/${d.slug}/file`).set('Sec-Purpose', 'prefetch').expect(200);
    await t.http.get(`/downloads/${d.slug}/file`).set('Purpose', 'prefetch').expect(200);
    expect(await countOf(d.id)).toBe(0);
  });

  test('an admin (a bypass role) is not counted and the event says so; an editor is counted', async () => {
    const d = await buildDownload(t, { content: 'roles' });
    const admin = await signedInAgent(t, 'admin');
    await admin.agent.get(`/downloads/${d.slug}/file`).expect(200);
    const editor = await signedInAgent(t, 'editor');
    await editor.agent.get(`/downloads/${d.slug}/file`).expect(200);
    expect(await countOf(d.id)).toBe(1);
    expect((await eventsOf(d.id)).map((e) => [e.reason, e.bypass, e.userId])).toEqual([
      ['bypass', true, admin.user.id],
      [null, false, editor.user.id],
    ]);
  });

  test('risky types are served as inert attachments', async () => {
    for (const name of ['page.html', 'image.svg', 'script.js', 'feed.xml']) {
      const d = await buildDownload(t, { content: '<script>alert(1)</script>', originalName: name });
      const res = await t.http.get(`/downloads/${d.slug}/file`).expect(200);
      expect(res.headers['content-type'], name).toBe('application/octet-stream');
      expect(res.headers['content-disposition'], name).toMatch(/^attachment;/);
    }
  });
});

describe('what is not served', () => {
  test('an unknown slug is a 404 (not the seed 500), recorded, and counts nothing', async () => {
    const res = await t.http.get('/downloads/no-such-download/file').expect(404);
    expect(res.text).toContain('There is no download at this address.');
    const event = await t.db.downloadEvent.findFirstOrThrow({ where: { downloadId: null, reason: 'not_found' } });
    expect(event).toMatchObject({ outcome: 'failed', status: 404, counted: false });
  });

  test('unpublished, scheduled and retracted downloads are 404 for the public, served to editors', async () => {
    const hidden = [
      await buildDownload(t, { state: 'unpublished' }),
      await buildDownload(t, { publishOn: new Date(Date.now() + 86_400_000) }),
      await buildDownload(t, { retractOn: new Date(Date.now() - 1000) }),
    ];
    const { agent } = await signedInAgent(t, 'editor');
    for (const d of hidden) {
      await t.http.get(`/downloads/${d.slug}/file`).expect(404);
      await agent.get(`/downloads/${d.slug}/file`).expect(200);
    }
  });

  test('a download whose file is gone is a 404 before anything is counted', async () => {
    const d = await buildDownload(t, { content: 'vanishing' });
    fs.rmSync(path.join(t.mediaRoot, 'downloads', d.fileKey!));
    t.deps.resolver.clear();
    const res = await t.http.get(`/downloads/${d.slug}/file`).expect(404);
    expect(res.text).toContain('The file of this download is missing.');
    expect(await countOf(d.id)).toBe(0);
    expect((await eventsOf(d.id))[0]).toMatchObject({ outcome: 'failed', reason: 'file_missing', status: 404 });
  });

  test('a download that needs a token refuses a request without one (403)', async () => {
    const d = await buildDownload(t, { requiresToken: true });
    const res = await t.http.get(`/downloads/${d.slug}/file`).expect(403);
    expect(res.text).toContain('This download needs a link with a token');
    expect((await eventsOf(d.id))[0]).toMatchObject({ outcome: 'denied', reason: 'token_required', status: 403, counted: false });
    expect(await countOf(d.id)).toBe(0);
  });
});

describe('exact counting under concurrency', () => {
  test('200 concurrent downloads count 200, with 200 event rows', async () => {
    const d = await buildDownload(t, { content: crypto.randomBytes(10_240) });
    const base = await t.listen();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const statuses = await Promise.all(
      Array.from({ length: 200 }, () =>
        new Promise<number>((resolve, reject) => {
          http.get(`${base}/downloads/${d.slug}/file`, { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          }).on('error', reject);
        }),
      ),
    );
    agent.destroy();
    expect(statuses.filter((s) => s === 200)).toHaveLength(200);
    expect(await countOf(d.id)).toBe(200);
    expect(await t.db.downloadEvent.count({ where: { downloadId: d.id, counted: true } })).toBe(200);
  });
});

describe('the download.requested event', () => {
  test('is emitted after the event is committed, with the download and the request', async () => {
    const d = await buildDownload(t, { content: 'signal' });
    const seen: { slug: string; outcome: string; committed: boolean }[] = [];
    const off = t.deps.bus.on('download.requested', async ({ download, event }) => {
      const row = await t.db.downloadEvent.findUnique({ where: { id: event.id } });
      seen.push({ slug: download.slug, outcome: event.outcome, committed: row !== null });
    });
    await t.http.get(`/downloads/${d.slug}/file`).expect(200);
    await t.deps.bus.settled();
    off();
    expect(seen).toEqual([{ slug: d.slug, outcome: 'served', committed: true }]);
  });
});

describe('/downloads/:slug/latest', () => {
  test('follows successors to the current download and stops at one the visitor may not see', async () => {
    const v1 = await buildDownload(t, { title: 'Chain v1' });
    const v2 = await buildDownload(t, { title: 'Chain v2' });
    const v3 = await buildDownload(t, { title: 'Chain v3', state: 'unpublished' });
    await t.deps.downloads.update(v1.id, { deprecated: true, successorSlug: v2.slug });
    await t.deps.downloads.update(v2.id, { deprecated: true, successorSlug: v3.slug });
    const res = await t.http.get(`/downloads/${v1.slug}/latest?token=abc`).expect(302);
    expect(res.headers.location).toBe(`/downloads/${v2.slug}/file?token=abc`);
    expect(res.headers['cache-control']).toBe('no-store');
    await t.http.get('/downloads/nothing-here/latest').expect(404);
  });
});

describe('a stream that dies after the headers', () => {
  test('closes the connection instead of pretending the file is complete', async () => {
    const big = crypto.randomBytes(8 * 1024 * 1024);
    const d = await buildDownload(t, { content: big });
    const base = await t.listen();
    const file = path.join(t.mediaRoot, 'downloads', d.fileKey!);
    const outcome = await new Promise<{ received: number; declared: number; error?: string }>((resolve) => {
      http.get(`${base}/downloads/${d.slug}/file`, (res) => {
        let received = 0;
        const declared = Number(res.headers['content-length']);
        res.once('data', (chunk: Buffer) => {
          received += chunk.length;
          // The file shrinks under the stream: send reads to the new end, short of Content-Length.
          fs.truncateSync(file, 1024);
          res.on('data', (c: Buffer) => (received += c.length));
        });
        res.on('end', () => resolve({ received, declared }));
        res.on('error', (e) => resolve({ received, declared, error: e.message }));
        res.on('aborted', () => resolve({ received, declared, error: 'aborted' }));
      });
    });
    expect(outcome.declared).toBe(big.length);
    expect(outcome.received).toBeLessThan(big.length);
    expect(outcome.error).toBeDefined();
    await t.http.get('/healthz').expect(200);
  });
});
