/**
 * The admin pages for generated downloads, through HTTP as a browser without JavaScript sends
 * them: choosing a kind, creating, editing, refusing bad values on the form, and the preview
 * endpoint (an image from the form's values: CSRF-checked, not cached, rate limited).
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { signedInAgent } from '../helpers/auth.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { OVERLAY_SETTINGS, buildOverlay, cachedFiles, stagingFolders } from '../helpers/generated.ts';
import { solidBackground } from '../helpers/images.ts';

let t: TestApp;
let background: Buffer;
beforeAll(async () => {
  t = await startTestApp({ RENDER_RATE_LIMIT: '5' });
  background = await solidBackground('png');
});
afterAll(() => t?.close());

const binary = ((res: NodeJS.ReadableStream, done: (e: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => done(null, Buffer.concat(chunks)));
}) as never;

type Agent = Awaited<ReturnType<typeof signedInAgent>>['agent'];

function multipart(agent: Agent, url: string, csrf: string, fields: Record<string, string>, withBackground = true) {
  let req = agent.post(`${url}?_csrf=${encodeURIComponent(csrf)}`);
  for (const [name, value] of Object.entries(fields)) req = req.field(name, value);
  return withBackground ? req.attach('background', background, 'card.png') : req;
}

describe('creating and editing', () => {
  test('the kinds are offered, and the form shows the kind’s fields with their starting values', async () => {
    const { agent } = await signedInAgent(t, 'editor');
    const list = await agent.get('/admin/downloads').expect(200);
    expect(list.text).toContain('href="/admin/downloads/generated/new"');
    const kinds = await agent.get('/admin/downloads/generated/new').expect(200);
    expect(kinds.text).toContain('href="/admin/downloads/generated/new?kind=text-overlay"');
    expect(kinds.text).toContain('href="/admin/downloads/generated/new?kind=example-text-file"');
    const form = await agent.get('/admin/downloads/generated/new?kind=text-overlay').expect(200);
    expect(form.text).toContain('<input type="hidden" name="kind" value="text-overlay">');
    expect(form.text).toMatch(/<input type="file" name="background" accept="image\/jpeg,image\/png,image\/webp"[^>]*required>/);
    expect(form.text).toContain('<textarea name="text" rows="4" maxlength="2000">Hello {name}</textarea>');
    expect(form.text).toContain('<option value="dejavu-serif-bold" >DejaVu Serif Bold</option>');
    expect(form.text).toContain('data-preview-url="/admin/downloads/generated/preview"');
    expect(form.text).not.toContain('name="remoteUrl"');
    expect(form.text).not.toMatch(/<script>/);
    await agent.get('/admin/downloads/generated/new?kind=nothing').expect(422);
  });

  test('a form post creates the download and leads to its edit page; the plain edit address leads there too', async () => {
    const { agent, csrf } = await signedInAgent(t, 'editor');
    const res = await multipart(agent, '/admin/downloads/generated', csrf, {
      _csrf: csrf,
      kind: 'text-overlay',
      title: 'Form made',
      state: 'published',
      visible: '1',
      ...OVERLAY_SETTINGS,
    }).expect(303);
    const d = await t.db.download.findFirstOrThrow({ where: { title: 'Form made' }, include: { generator: true } });
    expect(res.headers.location).toBe(`/admin/downloads/generated/${d.id}`);
    expect(d).toMatchObject({ kind: 'text-overlay', visible: true, fileName: null });
    expect(JSON.parse(d.generator!.settings)).toMatchObject({ x: 96, colour: '#ffee00' });
    const edit = await agent.get(`/admin/downloads/generated/${d.id}`).expect(200);
    expect(edit.text).toContain('“Form made” was created.');
    expect((await agent.get(`/admin/downloads/${d.id}`).expect(302)).headers.location).toBe(`/admin/downloads/generated/${d.id}`);
    expect(edit.text).toContain(`data-preview-url="/admin/downloads/generated/${d.id}/preview"`);
    expect(edit.text).toMatch(/<input type="file" name="background"[^>]*>/);
    expect(edit.text).not.toMatch(/<input type="file" name="background"[^>]*required>/);
    expect(edit.text).toContain('<input type="color" name="colour" value="#ffee00">');
  });

  test('an edit without a new background keeps the stored one; a refused value comes back on the form as typed', async () => {
    const d = await buildOverlay(t, { fields: { title: 'Edit me' } });
    const { agent, csrf } = await signedInAgent(t, 'editor');
    const before = await t.db.generatorSettings.findUniqueOrThrow({ where: { downloadId: d.id } });
    const fields = { _csrf: csrf, title: 'Edited', state: 'published', ...OVERLAY_SETTINGS, text: 'Second {name}' };
    await multipart(agent, `/admin/downloads/generated/${d.id}`, csrf, fields, false).expect(303);
    const after = await t.db.generatorSettings.findUniqueOrThrow({ where: { downloadId: d.id } });
    expect(after.assetKey).toBe(before.assetKey);
    expect(JSON.parse(after.settings).text).toBe('Second {name}');

    const refused = await multipart(agent, `/admin/downloads/generated/${d.id}`, csrf, { ...fields, text: 'Third', width: '5000' }, false).expect(422);
    expect(refused.text).toContain('must lie inside the 1200×630-pixel background');
    expect(refused.text).toContain('<textarea name="text" rows="4" maxlength="2000">Third</textarea>');
    expect(refused.text).toContain('value="5000"');
    expect(JSON.parse((await t.db.generatorSettings.findUniqueOrThrow({ where: { downloadId: d.id } })).settings).text).toBe('Second {name}');
  });

  test('an analyst may not create one, and a post without the CSRF token is refused before anything is stored', async () => {
    const analyst = await signedInAgent(t, 'analyst');
    await analyst.agent.get('/admin/downloads/generated/new?kind=text-overlay').expect(403);
    const { agent } = await signedInAgent(t, 'editor');
    await agent.post('/admin/downloads/generated').field('kind', 'text-overlay').attach('background', background, 'bg.png').expect(403);
    expect(stagingFolders(t)).toEqual([]);
  });
});

describe('the preview', () => {
  test('renders the form’s values as an image, not stored anywhere, not cached by the browser', async () => {
    const { agent, csrf } = await signedInAgent(t, 'editor');
    const res = await multipart(agent, '/admin/downloads/generated/preview', csrf, { kind: 'text-overlay', ...OVERLAY_SETTINGS, preview_name: 'Ada' })
      .buffer(true)
      .parse(binary)
      .expect(200);
    expect(res.headers['content-type']).toBe('image/jpeg');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(await sharp(res.body as Buffer).metadata()).toMatchObject({ format: 'jpeg', width: 1200, height: 630 });
    expect(cachedFiles(t)).toEqual([]);
    await vi.waitFor(() => expect(stagingFolders(t)).toEqual([]));
  });

  test('of a saved download, uses its stored background and the form’s changed values', async () => {
    const d = await buildOverlay(t);
    const { agent, csrf } = await signedInAgent(t, 'editor');
    const a = await agent.post(`/admin/downloads/generated/${d.id}/preview`).set('X-CSRF-Token', csrf).field('text', 'One').buffer(true).parse(binary).expect(200);
    const b = await agent.post(`/admin/downloads/generated/${d.id}/preview`).set('X-CSRF-Token', csrf).field('text', 'Two').buffer(true).parse(binary).expect(200);
    expect((a.body as Buffer).equals(b.body as Buffer)).toBe(false);
  });

  test('bad values are a 422 with the message; no CSRF token is a 403; past the limit a 429 with Retry-After', async () => {
    const { agent, csrf } = await signedInAgent(t, 'editor');
    const bad = await multipart(agent, '/admin/downloads/generated/preview', csrf, { kind: 'text-overlay', ...OVERLAY_SETTINGS, colour: 'red' })
      .set('Accept', 'image/*, application/json')
      .expect(422);
    expect(bad.body.error.message).toBe('Use a colour like #1a2b3c.');
    await agent.post('/admin/downloads/generated/preview').field('kind', 'text-overlay').expect(403);

    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await multipart(agent, '/admin/downloads/generated/preview', csrf, { kind: 'text-overlay', ...OVERLAY_SETTINGS })).status);
    }
    // The refused one above took one of the 5 previews a minute.
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    const limited = await multipart(agent, '/admin/downloads/generated/preview', csrf, { kind: 'text-overlay', ...OVERLAY_SETTINGS }).expect(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    await vi.waitFor(() => expect(stagingFolders(t)).toEqual([]));
  });
});
