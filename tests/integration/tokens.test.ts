/** Download tokens through the public URL: limits, validity, bypass roles, readable refusals. */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { createUser, signedInAgent } from '../helpers/auth.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { buildDownload } from '../helpers/factories.ts';

const DAY = 86_400_000;
const clock = new ManualClock(new Date('2026-05-04T09:00:00Z')); // a Monday
let t: TestApp;
let key: string;

beforeAll(async () => {
  t = await startTestApp({ TOKEN_FAILURE_LIMIT: '1000' }, { clock });
  key = (await t.deps.users.createApiKey((await createUser(t, 'editor')).username)).key;
});
afterAll(() => t?.close());

async function protectedDownload(fields: Record<string, unknown> = {}) {
  return buildDownload(t, { requiresToken: true, content: '0123456789', ...fields });
}

async function issue(slug: string, body: Record<string, unknown> = {}) {
  const res = await t.http.post(`/api/v1/downloads/${slug}/tokens`).set('Authorization', `Bearer ${key}`).send(body).expect(201);
  return res.body as { id: number; token: string; url: string; maxDownloads: number; validityDays: number; expiresAt: string | null };
}

const file = (slug: string, token?: string, param = 'token') => t.http.get(`/downloads/${slug}/file${token ? `?${param}=${encodeURIComponent(token)}` : ''}`);
const usesOf = async (id: number) => (await t.db.token.findUniqueOrThrow({ where: { id } })).uses;
const countOf = async (id: number) => Number((await t.db.download.findUniqueOrThrow({ where: { id } })).downloadCount);

describe('issuing tokens through the API', () => {
  test('answers the secret once, with its link and policy; stores only its hash', async () => {
    const d = await protectedDownload();
    const issued = await issue(d.slug, { maxDownloads: 3, validityDays: 7 });
    expect(issued.token).toMatch(/^dlt_[A-Za-z0-9_-]{43}$/);
    expect(issued).toMatchObject({ maxDownloads: 3, validityDays: 7, expiresAt: null });
    expect(issued.url).toMatch(new RegExp(`/downloads/${d.slug}/file\\?token=${issued.token}$`));
    const row = await t.db.token.findUniqueOrThrow({ where: { id: issued.id } });
    expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.last4).toBe(issued.token.slice(-4));
    expect(JSON.stringify(row)).not.toContain(issued.token);
    const list = await t.http.get(`/api/v1/downloads/${d.slug}/tokens`).set('Authorization', `Bearer ${key}`).expect(200);
    expect(list.body.items[0]).toMatchObject({ id: issued.id, uses: 0, usesLeft: 3, status: 'active', last4: row.last4 });
    expect(JSON.stringify(list.body)).not.toContain(issued.token);
  });

  test('defaults come from the download, then from the settings', async () => {
    const plain = await protectedDownload();
    expect(await issue(plain.slug)).toMatchObject({ maxDownloads: 1, validityDays: -1 });
    const own = await protectedDownload({ tokenMaxDownloads: 10, tokenValidityDays: 30 });
    expect(await issue(own.slug)).toMatchObject({ maxDownloads: 10, validityDays: 30 });
  });

  test('DELETE /api/v1/tokens/:id revokes', async () => {
    const d = await protectedDownload();
    const issued = await issue(d.slug);
    await t.http.delete(`/api/v1/tokens/${issued.id}`).set('Authorization', `Bearer ${key}`).expect(204);
    const res = await file(d.slug, issued.token).expect(410);
    expect(res.text).toContain('This link has been revoked.');
    await t.http.delete('/api/v1/tokens/999999').set('Authorization', `Bearer ${key}`).expect(404);
  });
});

describe('refusals a person can read', () => {
  test('no token: 403 "This download needs a link with a token"', async () => {
    const d = await protectedDownload();
    const res = await file(d.slug).expect(403);
    expect(res.text).toContain('This download needs a link with a token.');
  });

  test.each([
    ['malformed', 'not-a-token'],
    ['well-formed but unknown', `dlt_${'A'.repeat(43)}`],
    ['empty', ''],
    ['full of markup', '<script>alert(1)</script>'],
  ])('a %s token is the same 404 as an unknown download', async (_what, token) => {
    const d = await protectedDownload();
    const res = await t.http.get(`/downloads/${d.slug}/file?token=${encodeURIComponent(token)}`);
    expect(res.status).toBe(token ? 404 : 403);
    if (token) {
      expect(res.text).toContain('There is no download at this address.');
      expect(res.text).toBe((await t.http.get('/downloads/no-such-download/file')).text.replace(/nonce-[^"]+/g, ''));
    }
  });

  test("another download's token does not open this one", async () => {
    const a = await protectedDownload();
    const b = await protectedDownload();
    const issued = await issue(a.slug);
    await file(b.slug, issued.token).expect(404);
    expect(await usesOf(issued.id)).toBe(0);
  });

  test('used up: 410 with the count; JSON for API clients', async () => {
    const d = await protectedDownload();
    const issued = await issue(d.slug, { maxDownloads: 2 });
    await file(d.slug, issued.token).expect(200);
    await file(d.slug, issued.token, 'download-token').expect(200);
    const page = await file(d.slug, issued.token).expect(410);
    expect(page.text).toContain('This link has been used 2 times, its limit.');
    const json = await file(d.slug, issued.token).set('Accept', 'application/json').expect(410);
    expect(json.body.error).toEqual({ code: 'TOKEN_USED_UP', message: 'This link has been used 2 times, its limit.', tokenId: issued.id });
    const event = await t.db.downloadEvent.findFirstOrThrow({ where: { downloadId: d.id, outcome: 'denied' } });
    expect(event).toMatchObject({ reason: 'token_used_up', tokenId: issued.id, counted: false, status: 410 });
  });

  test('responses to token links never leak the token through Referer', async () => {
    const d = await protectedDownload();
    const issued = await issue(d.slug);
    expect((await file(d.slug, issued.token).expect(200)).headers['referrer-policy']).toBe('no-referrer');
    expect((await file(d.slug, issued.token).expect(410)).headers['referrer-policy']).toBe('no-referrer');
  });
});

describe('what consumes a use', () => {
  test('HEAD, prefetches and conditional GETs do not; a GET does', async () => {
    const d = await protectedDownload();
    const issued = await issue(d.slug, { maxDownloads: 5 });
    const first = await file(d.slug, issued.token).expect(200);
    await t.http.head(`/downloads/${d.slug}/file?token=${issued.token}`).expect(200);
    await file(d.slug, issued.token).set('Sec-Purpose', 'prefetch').expect(200);
    await file(d.slug, issued.token).set('If-None-Match', first.headers.etag as string).expect(304);
    expect(await usesOf(issued.id)).toBe(1);
    expect(await countOf(d.id)).toBe(1);
  });

  test('a resume within the grace window after a paid download is served without a use, even when used up', async () => {
    const d = await protectedDownload();
    const issued = await issue(d.slug, { maxDownloads: 1 });
    await file(d.slug, issued.token).set('Range', 'bytes=0-4').expect(206);
    const resume = await file(d.slug, issued.token).set('Range', 'bytes=5-').expect(206);
    expect(resume.text).toBe('56789');
    expect(await usesOf(issued.id)).toBe(1);
    clock.advance(25 * 3_600_000);
    try {
      await file(d.slug, issued.token).set('Range', 'bytes=5-').expect(410);
    } finally {
      clock.advance(-25 * 3_600_000);
    }
  });

  test('a Range request that resumes nothing this token paid for uses the token', async () => {
    const d = await protectedDownload();
    const issued = await issue(d.slug, { maxDownloads: 1 });
    await file(d.slug, issued.token).set('Range', 'bytes=1-').expect(206);
    expect(await usesOf(issued.id)).toBe(1);
    expect(await countOf(d.id)).toBe(0); // a resume is still not a download in the counts
    await file(d.slug, issued.token).expect(410);
  });
});

describe('validity', () => {
  test('counts days from the first download: just before the end works, just after is 410 and uses nothing', async () => {
    const d = await protectedDownload();
    const issued = await issue(d.slug, { maxDownloads: 0, validityDays: 2 });
    const start = clock.now();
    await file(d.slug, issued.token).expect(200);
    try {
      clock.set(new Date(start.getTime() + 2 * DAY - 1000));
      await file(d.slug, issued.token).expect(200);
      clock.set(new Date(start.getTime() + 2 * DAY + 1000));
      const res = await file(d.slug, issued.token).expect(410);
      expect(res.text).toContain(`This link expired on ${new Date(start.getTime() + 2 * DAY).toISOString().slice(0, 16).replace('T', ' ')} UTC.`);
      expect(await usesOf(issued.id)).toBe(2);
    } finally {
      clock.set(start);
    }
  });

  test('an absolute expiry: just before works, just after is 410 and consumes nothing', async () => {
    const d = await protectedDownload();
    const expiresAt = new Date(clock.now().getTime() + 3_600_000);
    const issued = await issue(d.slug, { maxDownloads: 5, expiresAt: expiresAt.toISOString() });
    const start = clock.now();
    try {
      clock.set(new Date(expiresAt.getTime() - 1));
      await file(d.slug, issued.token).expect(200);
      clock.set(expiresAt);
      await file(d.slug, issued.token).expect(410);
      expect(await usesOf(issued.id)).toBe(1);
    } finally {
      clock.set(start);
    }
  });
});

describe('bypass roles', () => {
  test('an admin downloads without a token, uncounted, and the event says bypass', async () => {
    const d = await protectedDownload();
    const { agent, user } = await signedInAgent(t, 'admin');
    await agent.get(`/downloads/${d.slug}/file`).expect(200);
    expect(await countOf(d.id)).toBe(0);
    expect(await t.db.downloadEvent.findFirstOrThrow({ where: { downloadId: d.id } })).toMatchObject({ bypass: true, reason: 'bypass', userId: user.id });
    const editor = await signedInAgent(t, 'editor');
    await editor.agent.get(`/downloads/${d.slug}/file`).expect(403);
  });
});

describe('under concurrency', () => {
  async function hammer(url: string, n: number): Promise<number[]> {
    const base = await t.listen();
    const agent = new http.Agent({ keepAlive: true, maxSockets: n });
    try {
      return await Promise.all(
        Array.from({ length: n }, () =>
          new Promise<number>((resolve, reject) => {
            http.get(`${base}${url}`, { agent }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode!));
            }).on('error', reject);
          }),
        ),
      );
    } finally {
      agent.destroy();
    }
  }

  test('a single-use token hit by 50 concurrent GETs: one success, 49 × 410, one counted event', async () => {
    const d = await protectedDownload();
    const issued = await issue(d.slug, { maxDownloads: 1 });
    const statuses = await hammer(`/downloads/${d.slug}/file?token=${issued.token}`, 50);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 410)).toHaveLength(49);
    expect(await usesOf(issued.id)).toBe(1);
    expect(await t.db.downloadEvent.count({ where: { downloadId: d.id, counted: true } })).toBe(1);
    expect(await countOf(d.id)).toBe(1);
  });

  test('a 5-use token under 100 concurrent GETs: exactly 5', async () => {
    const d = await protectedDownload();
    const issued = await issue(d.slug, { maxDownloads: 5 });
    const statuses = await hammer(`/downloads/${d.slug}/file?token=${issued.token}`, 100);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 410)).toHaveLength(95);
    expect(await usesOf(issued.id)).toBe(5);
    expect(await countOf(d.id)).toBe(5);
  });
});

describe('a burst of wrong tokens', () => {
  test('answers 429 with Retry-After after the limit', async () => {
    const limited = await startTestApp({ TOKEN_FAILURE_LIMIT: '5', TOKEN_FAILURE_WINDOW: '1m' });
    try {
      const d = await buildDownload(limited, { requiresToken: true });
      for (let i = 0; i < 5; i++) await limited.http.get(`/downloads/${d.slug}/file?token=dlt_${'x'.repeat(43)}`).expect(404);
      const res = await limited.http.get(`/downloads/${d.slug}/file?token=dlt_${'x'.repeat(43)}`).expect(429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});

describe('custom validators', () => {
  test('an extension refuses downloads at weekends, with its own message', async () => {
    t.deps.tokenValidators.register({
      name: 'weekdays-only',
      validate: ({ now }) =>
        now.getUTCDay() === 0 || now.getUTCDay() === 6 ? { code: 'TOKEN_WEEKEND', message: 'This link works on weekdays only.', status: 403 } : null,
    });
    const d = await protectedDownload();
    const issued = await issue(d.slug, { maxDownloads: 0 });
    const start = clock.now();
    try {
      await file(d.slug, issued.token).expect(200);
      clock.set('2026-05-09T10:00:00Z'); // a Saturday
      const res = await file(d.slug, issued.token).expect(403);
      expect(res.text).toContain('This link works on weekdays only.');
    } finally {
      clock.set(start);
    }
  });
});
