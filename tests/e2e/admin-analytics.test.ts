/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The analytics dashboard in a real browser: the date range picker, charts actually drawn (their
 * data equals the tables, and their canvases have pixels), nothing refused by the CSP, and the
 * CSV export equal, cell for cell, to the tables on the page.
 */
import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { createUser } from '../helpers/auth.ts';
import { launchBrowser, openPage, signIn } from '../helpers/browser.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { chromiumBinary, skipWithout } from '../helpers/env.ts';
import { buildDownload } from '../helpers/factories.ts';
import { WEBHOOK_SECRET, postCallback } from '../helpers/intake.ts';

const HUMAN = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

describe.skipIf(skipWithout(chromiumBinary))('the analytics dashboard in a real browser', { timeout: 90_000 }, () => {
  const clock = new ManualClock(new Date('2026-04-20T12:00:00Z'));
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    t = await startTestApp({ WEBHOOK_SECRET }, { clock });
    base = await t.listen();
    const category = await t.deps.categories.create({ title: 'Releases' });
    const downloads = [
      await buildDownload(t, { title: 'Installer, "stable"', primaryCategoryId: category.id, labels: 'Type:Installer', originalName: 'setup.exe' }),
      await buildDownload(t, { title: 'Library', labels: 'Type:Library', originalName: 'lib.jar' }),
      await buildDownload(t, { title: 'Manual', originalName: 'manual.pdf' }),
    ];
    const protectedOne = await buildDownload(t, { title: 'Private', requiresToken: true });
    // Two weeks of traffic, more in the afternoons and more for the first download.
    for (let day = 0; day < 14; day++) {
      for (const [i, d] of downloads.entries()) {
        for (let n = 0; n < 3 - i + (day % 3); n++) {
          clock.set(new Date(Date.parse('2026-04-06T00:00:00Z') + day * 86_400_000 + (9 + ((n * 5 + i) % 10)) * 3_600_000));
          await t.http.get(`/downloads/${d.slug}/file`).set('User-Agent', n % 4 === 3 ? 'Googlebot/2.1' : HUMAN).set('Referer', n % 2 ? 'https://forum.example/thread' : '').expect(200);
        }
      }
      await t.http.get(`/downloads/${protectedOne.slug}/file`).expect(403);
      await postCallback(t, { 'file-name': `lib-1.${day}.jar`, filename: `lib-1.${day}.jar`, 'repository-id': day % 2 ? 'releases' : 'snapshots' }).expect(200);
    }
    clock.set('2026-04-20T12:00:00Z');

    browser = await launchBrowser();
    page = await openPage(browser);
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    const analyst = await createUser(t, 'analyst', 'anna');
    await signIn(page, base, analyst.username);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** Every table cell of the page as CSV lines would have it: section, row, column, value. */
  const tableCells = () =>
    page.$$eval('table[data-section]', (tables) =>
      tables.flatMap((table) => {
        const section = table.querySelector('caption')!.textContent!.trim();
        const columns = [...table.querySelectorAll('thead th')].map((th) => th.textContent!.trim());
        return [...table.querySelectorAll('tbody tr:not(.empty-row)')].flatMap((tr) => {
          const row = tr.querySelector('th')!.textContent!.trim();
          return [...tr.querySelectorAll('td')].map((td, i) => [section, row, columns[i + 1]!, td.textContent!.trim().replaceAll(',', '')]);
        });
      }),
    );

  /** Parses RFC 4180 CSV (quoted fields with commas, doubled quotes). */
  function parseCsv(text: string): string[][] {
    const rows: string[][] = [];
    let row: string[] = [];
    let field = '';
    let quoted = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
        else if (c === '"') quoted = false;
        else field += c;
      } else if (c === '"') quoted = true;
      else if (c === ',') row.push(field), (field = '');
      else if (c === '\r') continue;
      else if (c === '\n') row.push(field), rows.push(row), (row = []), (field = '');
      else field += c;
    }
    return rows;
  }

  test('the range picker shows the chosen days, and every chart is drawn with the numbers of its table', async () => {
    await page.goto(`${base}/admin/analytics`);
    await page.getByLabel('From', { exact: true }).fill('2026-04-06');
    await page.getByLabel('To', { exact: true }).fill('2026-04-19');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(`${base}/admin/analytics?from=2026-04-06&to=2026-04-19`);
    await expect(page.locator('[data-total="downloads"] .tile-number').textContent()).resolves.toBe(String(123 + 14)); // 6 a day + 3 per (day mod 3), 14 days; and 14 from CloudRepo

    const charts = await page.$$eval('canvas[data-chart]', (canvases) =>
      canvases.map((canvas) => {
        const chart = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): { data: { labels: string[]; datasets: { data: number[] }[] } } | undefined } }).Chart.getChart(canvas as HTMLCanvasElement);
        const context = (canvas as HTMLCanvasElement).getContext('2d')!;
        const pixels = context.getImageData(0, 0, (canvas as HTMLCanvasElement).width, (canvas as HTMLCanvasElement).height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) painted++;
        return { id: canvas.id, labels: chart?.data.labels, data: chart?.data.datasets.map((d) => d.data), painted, width: (canvas as HTMLCanvasElement).width };
      }),
    );
    expect(charts.map((c) => c.id)).toEqual(['chart-over-time', 'chart-agents', 'chart-downloads', 'chart-types', 'chart-refusals']);
    for (const chart of charts) {
      expect(chart.width, chart.id).toBeGreaterThan(100);
      expect(chart.painted, `${chart.id} has drawn pixels`).toBeGreaterThan(500);
    }

    const cells = await tableCells();
    const column = (section: string, col: string) => cells.filter((c) => c[0] === section && c[2] === col);
    const overTime = charts.find((c) => c.id === 'chart-over-time')!;
    expect(overTime.labels).toEqual(column('Downloads over time', 'This server').map((c) => c[1]));
    expect(overTime.data).toEqual([column('Downloads over time', 'This server').map((c) => Number(c[3])), column('Downloads over time', 'CloudRepo').map((c) => Number(c[3]))]);
    const top = charts.find((c) => c.id === 'chart-downloads')!;
    expect(top.labels).toEqual(['Installer, "stable"', 'Library', 'Manual']);
    expect(top.data).toEqual([column('Top downloads', 'Downloads').map((c) => Number(c[3]))]);
    const types = charts.find((c) => c.id === 'chart-types')!;
    expect(types.data).toEqual([column('By type', 'Downloads').map((c) => Number(c[3]))]);
    expect(problems).toEqual([]);
  });

  test('the exported CSV holds exactly the cells of the tables on the page', async () => {
    await page.goto(`${base}/admin/analytics?from=2026-04-06&to=2026-04-19`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
    expect(download.suggestedFilename()).toBe('analytics-2026-04-06-to-2026-04-19.csv');
    const csv = parseCsv(fs.readFileSync((await download.path())!, 'utf8'));
    expect(csv[0]).toEqual(['section', 'row', 'column', 'value']);
    const cells = await tableCells();
    expect(cells.length).toBeGreaterThan(14 * 2 + 7 * 24);
    expect(csv.slice(1)).toEqual(cells);
  });

  test('the heatmap shades each cell by its count', async () => {
    await page.goto(`${base}/admin/analytics?from=2026-04-06&to=2026-04-19`);
    const levels = await page.$$eval('table.heatmap td', (tds) => tds.map((td) => [Number(td.textContent!.replaceAll(',', '')), /heat-(\d)/.exec(td.className)![1]]));
    const max = Math.max(...levels.map(([n]) => Number(n)));
    for (const [n, level] of levels) {
      if (n === 0) expect(level).toBe('0');
      if (n === max) expect(level).toBe('5');
    }
  });
});
