/**
 * The analytics dashboard (/admin/analytics), its CSV export and GET /api/v1/stats: who may see
 * them, what range they cover, and that their numbers are the events' numbers.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { createUser, signedInAgent } from '../helpers/auth.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { buildDownload } from '../helpers/factories.ts';
import { WEBHOOK_SECRET, postCallback } from '../helpers/intake.ts';

const HUMAN = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
// Wednesday 2026-03-18; the default range is the 30 days ending today: 2026-02-17 … 2026-03-18.
const clock = new ManualClock(new Date('2026-03-18T15:00:00Z'));
let t: TestApp;
let analystKey: string;
let toolSlug: string;

beforeAll(async () => {
  t = await startTestApp({ WEBHOOK_SECRET }, { clock });
  analystKey = (await t.deps.users.createApiKey((await createUser(t, 'analyst')).username)).key;
  const tool = await buildDownload(t, { title: 'Tool <b>1</b>', labels: 'Type:Installer' });
  toolSlug = tool.slug;

  // In the range: three downloads on Monday 16 March at 10:xx, one on Tuesday at 22:xx.
  clock.set('2026-03-16T10:05:00Z');
  await t.http.get(`/downloads/${tool.slug}/file`).set('User-Agent', HUMAN).expect(200);
  await t.http.get(`/downloads/${tool.slug}/file`).set('User-Agent', 'Googlebot/2.1 (+http://www.google.com/bot.html)').expect(200);
  await postCallback(t, { 'file-name': 'lib-2.0.jar', 'repository-id': 'releases' }).expect(200);
  clock.set('2026-03-17T22:40:00Z');
  await t.http.get(`/downloads/${tool.slug}/file`).set('User-Agent', HUMAN).set('Referer', 'https://news.example/post').expect(200);
  // In the previous 30 days: two.
  clock.set('2026-02-01T12:00:00Z');
  await t.http.get(`/downloads/${tool.slug}/file`).set('User-Agent', HUMAN).expect(200);
  await t.http.get(`/downloads/${tool.slug}/file`).set('User-Agent', HUMAN).expect(200);
  // Outside both.
  clock.set('2025-12-01T12:00:00Z');
  await t.http.get(`/downloads/${tool.slug}/file`).set('User-Agent', HUMAN).expect(200);
  clock.set('2026-03-18T15:00:00Z');
});
afterAll(() => t?.close());

const stats = (query: string) => t.http.get(`/api/v1/stats${query}`).set('Authorization', `Bearer ${analystKey}`);

describe('who sees the dashboard', () => {
  test.each(['analyst', 'editor', 'admin'] as const)('an %s gets the page', async (role) => {
    const { agent } = await signedInAgent(t, role);
    const page = await agent.get('/admin/analytics').expect(200);
    expect(page.text).toContain('<h1>Analytics</h1>');
    expect(page.headers['cache-control']).toBe('no-store');
  });

  test('a visitor is sent to sign in', async () => {
    const res = await t.http.get('/admin/analytics').set('Accept', 'text/html').expect(303);
    expect(res.headers.location).toBe('/login?next=%2Fadmin%2Fanalytics');
    await t.http.get('/admin/analytics/export.csv').set('Accept', 'text/csv').expect(401);
  });

  test('the chart library comes from this server, and the page allows scripts from this origin only', async () => {
    const { agent } = await signedInAgent(t, 'analyst');
    const page = await agent.get('/admin/analytics').expect(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const scripts = [...page.text.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]);
    expect(scripts).toEqual(['/vendor/chart.umd.min.js', '/static/js/analytics.js']);
    expect(page.text).not.toMatch(/<script>(?!\s*<\/script>)|<script\s+(?!src)/);
    const lib = await t.http.get('/vendor/chart.umd.min.js').expect(200);
    expect(lib.headers['content-type']).toMatch(/javascript/);
    expect(lib.text).toContain('Chart.js v4');
  });
});

describe('the dashboard shows the range asked for, with the period before it', () => {
  async function sections(query = '') {
    const { agent } = await signedInAgent(t, 'analyst');
    const res = await agent.get(`/admin/analytics/export.csv${query}`).expect(200);
    const lines = res.text.trim().split('\r\n').slice(1).map((l) => l.split(','));
    return { res, cell: (section: string, row: string, column: string) => lines.find((l) => l[0] === section && l[1] === row && l[2] === column)?.[3] };
  }

  test('by default the last 30 days, totals beside the 30 days before', async () => {
    const { cell } = await sections();
    expect(cell('Totals', 'Downloads', 'This period')).toBe('4');
    expect(cell('Totals', 'Downloads', 'Previous period')).toBe('2');
    expect(cell('Totals', 'Human', 'This period')).toBe('2');
    expect(cell('Totals', 'Bot', 'This period')).toBe('1');
    expect(cell('Totals', 'External', 'This period')).toBe('1');
    expect(cell('Totals', 'From this server', 'This period')).toBe('3');
  });

  test('the heatmap puts each download at its weekday and UTC hour', async () => {
    const { cell } = await sections();
    expect(cell('Hour of day × weekday (UTC)', 'Mon', '10')).toBe('3');
    expect(cell('Hour of day × weekday (UTC)', 'Tue', '22')).toBe('1');
    expect(cell('Hour of day × weekday (UTC)', 'Wed', '10')).toBe('0');
  });

  test('external downloads appear beside the server\'s own, by source and over time', async () => {
    const { cell } = await sections('?from=2026-03-16&to=2026-03-17');
    expect(cell('By source', 'This server', 'Downloads')).toBe('3');
    expect(cell('By source', 'CloudRepo', 'Downloads')).toBe('1');
    // Two days are drawn by the hour.
    expect(cell('Downloads over time', '2026-03-16 10:00', 'This server')).toBe('2');
    expect(cell('Downloads over time', '2026-03-16 10:00', 'CloudRepo')).toBe('1');
    expect(cell('Downloads over time', '2026-03-17 22:00', 'This server')).toBe('1');
    expect(cell('By referring site', 'news.example', 'Downloads')).toBe('1');
    expect(cell('By type', 'Jar file', 'Downloads')).toBe('1');
    expect(cell('By repository', 'releases', 'Downloads')).toBe('1');
    expect(cell('By label', 'Type:Installer', 'Downloads')).toBe('3');
  });

  test('a custom range, both days included; the previous period has the same length', async () => {
    const { cell, res } = await sections('?from=2026-02-01&to=2026-02-01');
    expect(cell('Totals', 'Downloads', 'This period')).toBe('2');
    expect(cell('Totals', 'Downloads', 'Previous period')).toBe('0');
    expect(res.headers['content-disposition']).toBe('attachment; filename=analytics-2026-02-01-to-2026-02-01.csv');
  });

  test('a wrong range on the page says so and shows the default; in the export it is a 422', async () => {
    const { agent } = await signedInAgent(t, 'analyst');
    const page = await agent.get('/admin/analytics?from=2026-03-10&to=2026-03-01').expect(200);
    expect(page.text).toContain('from must be on or before to.');
    expect(page.text).toContain('value="2026-02-17"');
    await agent.get('/admin/analytics/export.csv?from=2026-02-30').expect(422);
    await agent.get('/admin/analytics/export.csv?from=yesterday').expect(422);
  });
});

describe('GET /api/v1/stats', () => {
  test('groupBy=day lists every day of the range with its count, and the total', async () => {
    const res = await stats('?from=2026-03-15&to=2026-03-18&groupBy=day').expect(200);
    expect(res.body).toEqual({
      from: '2026-03-15T00:00:00.000Z',
      to: '2026-03-19T00:00:00.000Z',
      groupBy: 'day',
      total: 4,
      items: [
        { key: '2026-03-15', count: 0 },
        { key: '2026-03-16', count: 3 },
        { key: '2026-03-17', count: 1 },
        { key: '2026-03-18', count: 0 },
      ],
    });
  });

  test('groupBy=hour, with date-times rounded out to whole hours', async () => {
    const res = await stats('?from=2026-03-16T09:30:00Z&to=2026-03-16T10:10:00Z&groupBy=hour').expect(200);
    expect(res.body).toMatchObject({ from: '2026-03-16T09:00:00.000Z', to: '2026-03-16T11:00:00.000Z', total: 3 });
    expect(res.body.items).toEqual([
      { key: '2026-03-16T09:00:00Z', count: 0 },
      { key: '2026-03-16T10:00:00Z', count: 3 },
    ]);
  });

  test.each([
    ['download', (slug: string) => [{ key: expect.any(String), slug, title: 'Tool <b>1</b>', count: 3 }]],
    ['repo', () => [{ key: 'releases', count: 1 }]],
    ['type', () => [{ key: 'other', count: 3 }, { key: 'jar', count: 1 }]],
    ['label', () => [{ key: 'Type:Installer', count: 3 }]],
    ['source', () => [{ key: 'server', count: 3 }, { key: 'external:cloudrepo', count: 1 }]],
  ])('groupBy=%s', async (groupBy, items) => {
    const res = await stats(`?from=2026-03-01&to=2026-03-18&groupBy=${groupBy}`).expect(200);
    expect(res.body).toMatchObject({ groupBy, total: 4 });
    expect(res.body.items).toEqual(items(toolSlug));
  });

  test('.csv answers the same rows as CSV', async () => {
    const res = await t.http.get('/api/v1/stats.csv?from=2026-03-16&to=2026-03-17&groupBy=day').set('Authorization', `Bearer ${analystKey}`).expect(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.text).toBe('key,count\r\n2026-03-16,3\r\n2026-03-17,1\r\n');
  });

  test.each([
    ['?groupBy=week', 'groupBy must be one of'],
    ['?from=2026-13-01', 'from must be a date'],
    ['?from=2026-03-18&to=2026-03-01', 'from must be on or before to'],
    ['?groupBy=hour&from=2025-01-01&to=2025-12-31', 'groupBy=hour covers at most 92 days'],
    ['?groupBy=download&limit=0', 'limit is 1 to 1000'],
    ['?groupBy=download&limit=ten', 'expected number'],
  ])('%s is a 422 saying why', async (query, message) => {
    const res = await stats(query).expect(422);
    expect(res.body.error.message.toLowerCase()).toContain(message.toLowerCase());
  });

  test('needs an API key', async () => {
    await t.http.get('/api/v1/stats').expect(401);
  });
});

// Last: it adds a download to today's numbers.
describe('what the page and the CSV show of a title', () => {
  test('titles are escaped on the page and CSV cells that look like formulas are defused', async () => {
    const evil = await buildDownload(t, { title: '=HYPERLINK("http://evil.example")' });
    await t.http.get(`/downloads/${evil.slug}/file`).expect(200);
    const { agent } = await signedInAgent(t, 'analyst');
    const page = await agent.get('/admin/analytics').expect(200);
    expect(page.text).toContain('Tool &lt;b&gt;1&lt;/b&gt;');
    expect(page.text).not.toContain('Tool <b>1</b>');
    const csv = await agent.get('/admin/analytics/export.csv').expect(200);
    expect(csv.text).toContain(`Top downloads,"'=HYPERLINK(""http://evil.example"")",Downloads,1`);
  });
});
