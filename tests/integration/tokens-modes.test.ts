/** Tokens behave alike in every delivery mode: LOCAL through a real nginx, REMOTE, and the admin tab. */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signedInAgent } from '../helpers/auth.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { nginxBinary, skipWithout } from '../helpers/env.ts';
import { buildDownload } from '../helpers/factories.ts';
import { startNginx, type RunningNginx } from '../helpers/nginx.ts';

describe.skipIf(skipWithout(nginxBinary))('LOCAL mode through nginx', () => {
  let t: TestApp;
  let nginx: RunningNginx;
  beforeAll(async () => {
    t = await startTestApp({ DOWNLOAD_SERVE_FROM: 'LOCAL' });
    nginx = await startNginx({ upstreams: [new URL(await t.listen()).host], mediaRoot: t.mediaRoot });
  });
  afterAll(async () => {
    await nginx?.stop();
    await t?.close();
  });

  test('a single-use link delivers the file once, resumes within the grace window, then says it is used up', async () => {
    const content = crypto.randomBytes(100_000);
    const d = await buildDownload(t, { requiresToken: true, content });
    const secret = (await t.deps.tokens.issue(d.id, { maxDownloads: 1 }))[0]!.secret;
    const url = `${nginx.url}/downloads/${d.slug}/file?token=${secret}`;

    const first = await fetch(url, { headers: { Range: 'bytes=0-49999' } });
    expect(first.status).toBe(206);
    expect(Buffer.from(await first.arrayBuffer()).equals(content.subarray(0, 50_000))).toBe(true);
    const resume = await fetch(url, { headers: { Range: 'bytes=50000-' } });
    expect(resume.status).toBe(206);
    expect(Buffer.from(await resume.arrayBuffer()).equals(content.subarray(50_000))).toBe(true);

    const again = await fetch(url);
    expect(again.status).toBe(410);
    expect(await again.text()).toContain('This link has been used 1 time, its limit.');
    expect(again.headers.get('referrer-policy')).toBe('no-referrer');
    const none = await fetch(`${nginx.url}/downloads/${d.slug}/file`);
    expect(none.status).toBe(403);
    expect((await t.db.token.findFirstOrThrow({ where: { downloadId: d.id } })).uses).toBe(1);
  });

  test('nginx never logs the token', async () => {
    const fs = await import('node:fs');
    const log = fs.readFileSync(nginx.accessLogPath, 'utf8');
    expect(log).not.toContain('dlt_');
    expect(log).not.toContain('token=');
  });
});

describe('REMOTE mode', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ DOWNLOAD_SERVE_FROM: 'REMOTE', DOWNLOAD_REMOTE_BASE_URL: 'https://cdn.example.com' });
  });
  afterAll(() => t?.close());

  test('a single-use link redirects once, then answers 410', async () => {
    const d = await buildDownload(t, { requiresToken: true });
    const secret = (await t.deps.tokens.issue(d.id, { maxDownloads: 1 }))[0]!.secret;
    const first = await t.http.get(`/downloads/${d.slug}/file?token=${secret}`).expect(302);
    expect(first.headers.location).toBe(`https://cdn.example.com/downloads/${d.fileKey}`);
    expect(first.headers['referrer-policy']).toBe('no-referrer');
    await t.http.get(`/downloads/${d.slug}/file?token=${secret}`).expect(410);
  });
});

describe('the Tokens tab', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  test('issues links shown once, lists them, and revokes, extends and resets', async () => {
    const d = await buildDownload(t, { requiresToken: true });
    const { agent, csrf } = await signedInAgent(t, 'editor');
    const issued = await agent
      .post(`/admin/downloads/${d.id}/tokens`)
      .type('form')
      .send({ _csrf: csrf, count: '2', maxDownloads: '3', validityDays: '', expiresAt: '', note: 'for <Ana>' })
      .expect(201);
    const links = [...issued.text.matchAll(/<code id="issued-\d" class="secret">([^<]+)<\/code>/g)].map((m) => m[1]!);
    expect(links).toHaveLength(2);
    for (const link of links) expect(link).toMatch(new RegExp(`/downloads/${d.slug}/file\\?token=dlt_[A-Za-z0-9_-]{43}$`));
    expect(issued.text).toContain('for &lt;Ana&gt;');

    const page = await agent.get(`/admin/downloads/${d.id}/tokens`).expect(200);
    for (const link of links) expect(page.text).not.toContain(link.split('token=')[1]);
    expect(page.text).toContain('0 / 3');

    const secret = links[0]!.split('token=')[1]!;
    await t.http.get(`/downloads/${d.slug}/file?token=${secret}`).expect(200);
    const [token] = await t.db.token.findMany({ where: { downloadId: d.id, uses: 1 } });
    await agent.post(`/admin/downloads/${d.id}/tokens/${token!.id}/revoke`).type('form').send({ _csrf: csrf }).expect(303);
    await t.http.get(`/downloads/${d.slug}/file?token=${secret}`).expect(410);
    await agent.post(`/admin/downloads/${d.id}/tokens/${token!.id}/extend`).type('form').send({ _csrf: csrf, addUses: '2' }).expect(303);
    expect(await t.db.token.findUniqueOrThrow({ where: { id: token!.id } })).toMatchObject({ maxDownloads: 5, revokedAt: null });
    await agent.post(`/admin/downloads/${d.id}/tokens/${token!.id}/reset`).type('form').send({ _csrf: csrf }).expect(303);
    expect(await t.db.token.findUniqueOrThrow({ where: { id: token!.id } })).toMatchObject({ uses: 0, firstUsedAt: null });

    const bad = await agent.post(`/admin/downloads/${d.id}/tokens`).type('form').send({ _csrf: csrf, count: '9999' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('At most 500 tokens at once.');
  });
});
