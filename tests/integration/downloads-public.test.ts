import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { signedInAgent } from '../helpers/auth.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { buildDownload } from '../helpers/factories.ts';

const clock = new ManualClock(new Date('2026-06-01T12:00:00Z'));
let t: TestApp;
const ids: Record<string, { id: number; slug: string }> = {};

beforeAll(async () => {
  t = await startTestApp({}, { clock });
  const software = await t.deps.categories.create({ title: 'Software' });
  const linux = await t.deps.categories.create({ title: 'Linux', parentId: software.id });
  const windows = await t.deps.categories.create({ title: 'Windows', parentId: software.id });
  const docs = await t.deps.categories.create({ title: 'Documents', position: 5 });
  await t.deps.categories.create({ title: 'Empty category' });
  const make = async (key: string, fields: Record<string, unknown>) => {
    const d = await buildDownload(t, { title: key, ...fields });
    ids[key] = { id: d.id, slug: d.slug };
  };
  await make('Tool for Linux', { primaryCategoryId: linux.id, labels: 'Type:Archive, OpSys:Linux', description: '# Notes\n\nSee **this**.' });
  await make('Tool for Windows', { primaryCategoryId: windows.id, labels: 'Type:Installer, OpSys:Windows' });
  await make('Software overview', { primaryCategoryId: software.id });
  await make('Manual', { primaryCategoryId: docs.id, labels: 'Type:Docs' });
  await make('Loose file', {});
  await make('Draft', { state: 'unpublished', primaryCategoryId: docs.id });
  await make('Future', { publishOn: new Date('2026-07-01T00:00:00Z') });
  await make('Retracted', { retractOn: new Date('2026-05-01T00:00:00Z') });
  await make('Unlisted', { visible: false });
  await make('Old tool', { primaryCategoryId: linux.id });
  await t.deps.downloads.update(ids['Old tool']!.id, { deprecated: true, successorSlug: ids['Tool for Linux']!.slug });
});
afterAll(() => t?.close());

/** Titles on a listing page, in order. */
const titles = (html: string) => [...html.matchAll(/class="download-title" href="[^"]+"><bdi>([^<]+)<\/bdi>/g)].map((m) => m[1]);

describe('the public listing', () => {
  test('groups published downloads by category, nested, with counts per branch and uncategorised last', async () => {
    const res = await t.http.get('/downloads').expect(200);
    expect(titles(res.text)).toEqual(['Software overview', 'Tool for Linux', 'Tool for Windows', 'Manual', 'Loose file']);
    expect(res.text).toMatch(/<bdi>Software<\/bdi> <span class="count">3<\/span>/);
    expect(res.text).toMatch(/<bdi>Linux<\/bdi> <span class="count">1<\/span>/);
    expect(res.text).toMatch(/<bdi>Documents<\/bdi> <span class="count">1<\/span>/);
    expect(res.text).not.toContain('Empty category');
    expect(res.text).toMatch(/Other downloads <span class="count">1<\/span>/);
    expect(res.text.indexOf('Other downloads')).toBeGreaterThan(res.text.indexOf('Documents'));
  });

  test('leaves out unpublished, not-yet-published, retracted, unlisted and deprecated downloads', async () => {
    const res = await t.http.get('/downloads').expect(200);
    for (const hidden of ['Draft', 'Future', 'Retracted', 'Unlisted', 'Old tool']) expect(titles(res.text)).not.toContain(hidden);
    expect(res.text).toContain('See the 1 deprecated download');
  });

  test('shows deprecated downloads on their own page', async () => {
    const res = await t.http.get('/downloads?deprecated=1').expect(200);
    expect(titles(res.text)).toEqual(['Old tool']);
  });

  test('a download appears when its publishing time comes', async () => {
    clock.set('2026-07-01T00:00:01Z');
    try {
      expect(titles((await t.http.get('/downloads')).text)).toContain('Future');
    } finally {
      clock.set('2026-06-01T12:00:00Z');
    }
  });

  test('searches titles and descriptions, and filters by label', async () => {
    expect(titles((await t.http.get('/downloads?q=windows')).text)).toEqual(['Tool for Windows']);
    expect(titles((await t.http.get('/downloads?q=this')).text)).toEqual(['Tool for Linux']);
    expect(titles((await t.http.get('/downloads?label=OpSys%3ALinux')).text)).toEqual(['Tool for Linux']);
    expect((await t.http.get('/downloads?q=nothing-matches')).text).toContain('No downloads were found.');
    await t.http.get('/downloads?label=%3A').expect(400);
  });

  test('pages 20 at a time', async () => {
    const many = await startTestApp();
    try {
      for (let i = 1; i <= 25; i++) await buildDownload(many, { title: `Entry ${String(i).padStart(2, '0')}` });
      const first = await many.http.get('/downloads').expect(200);
      expect(titles(first.text)).toHaveLength(20);
      expect(first.text).toContain('25 downloads');
      const second = await many.http.get('/downloads?page=2').expect(200);
      expect(titles(second.text)).toEqual(['Entry 21', 'Entry 22', 'Entry 23', 'Entry 24', 'Entry 25']);
      expect((await many.http.get('/downloads?page=abc')).status).toBe(200);
    } finally {
      await many.close();
    }
  });
});

describe('a download page', () => {
  test('shows title, rendered description, size, count, labels, dates and the download button', async () => {
    const res = await t.http.get(`/downloads/${ids['Tool for Linux']!.slug}`).expect(200);
    expect(res.text).toContain('<h1><bdi>Tool for Linux</bdi></h1>');
    expect(res.text).toContain('<h1>Notes</h1>');
    expect(res.text).toContain('<strong>this</strong>');
    expect(res.text).toMatch(/<dt>Size<\/dt><dd>\d+ B<\/dd>/);
    expect(res.text).toContain('<dt>Downloads</dt><dd>0</dd>');
    expect(res.text).toContain('href="/downloads?label=Type%3AArchive"');
    expect(res.text).toContain(`href="/downloads/${ids['Tool for Linux']!.slug}/file"`);
    expect(res.text).toContain('<dt>Uploaded</dt><dd>2026-');
  });

  test('a deprecated download says so and links to its successor', async () => {
    const res = await t.http.get(`/downloads/${ids['Old tool']!.slug}`).expect(200);
    expect(res.text).toContain('This file is marked as deprecated');
    expect(res.text).toContain(`<a href="/downloads/${ids['Tool for Linux']!.slug}"><bdi>Tool for Linux</bdi></a>`);
  });

  test('unlisted downloads are reachable by their address', async () => {
    await t.http.get(`/downloads/${ids['Unlisted']!.slug}`).expect(200);
  });

  test.each(['Draft', 'Future', 'Retracted'])('%s is a 404 for the public and visible to editors', async (key) => {
    const res = await t.http.get(`/downloads/${ids[key]!.slug}`).expect(404);
    expect(res.text).toContain('There is no download at this address.');
    const { agent } = await signedInAgent(t, 'editor');
    const seen = await agent.get(`/downloads/${ids[key]!.slug}`).expect(200);
    expect(seen.text).toContain('This download is not public');
  });

  test('an unknown slug is a 404 page, never a 500', async () => {
    for (const slug of ['nope', 'x'.repeat(500), '%E2%98%83', '..%2F..%2Fetc%2Fpasswd']) {
      const res = await t.http.get(`/downloads/${slug}`);
      expect(res.status, slug).toBe(404);
    }
  });
});

describe('the Atom feed', () => {
  test('lists live, listed downloads, newest first', async () => {
    const res = await t.http.get('/downloads/feed.xml').expect(200);
    expect(res.headers['content-type']).toBe('application/atom+xml; charset=utf-8');
    expect(res.text).toContain('<feed xmlns="http://www.w3.org/2005/Atom">');
    expect(res.text).toContain('<title type="html"><![CDATA[Tool for Linux]]></title>');
    expect(res.text).not.toContain('Draft');
    expect(res.text).not.toContain('Unlisted');
  });
});
