/// <reference lib="dom" />
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createUser } from '../helpers/auth.ts';
import { launchBrowser, openPage, signIn } from '../helpers/browser.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { TEST_TMP, chromiumBinary, skipWithout } from '../helpers/env.ts';

describe.skipIf(skipWithout(chromiumBinary))('an editor publishes a download in a real browser', { timeout: 60_000 }, () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let page: Page;
  let upload: string;
  const content = crypto.randomBytes(3 * 1024 * 1024);

  beforeAll(async () => {
    t = await startTestApp();
    base = await t.listen();
    browser = await launchBrowser();
    upload = path.join(fs.mkdtempSync(path.join(TEST_TMP, 'e2e-')), 'tool-2.0-linux.tar.gz');
    fs.writeFileSync(upload, content);
    const editor = await createUser(t, 'editor', 'edith');
    page = await openPage(browser);
    await signIn(page, base, editor.username);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    if (upload) fs.rmSync(path.dirname(upload), { recursive: true, force: true });
  });

  test('creates categories, uploads with a progress bar, labels, publishes, and finds it on /downloads', async () => {
    // Categories, through the admin page.
    await page.goto(`${base}/admin/categories`);
    const addCategory = async (title: string, inside?: string) => {
      const form = page.locator('form[action="/admin/categories"]');
      await form.getByLabel('Title').fill(title);
      if (inside) await form.getByLabel('Inside').selectOption({ label: inside });
      await form.getByRole('button', { name: 'Add category' }).click();
      await page.locator('.flash-success', { hasText: `Category “${title}” was added.` }).waitFor();
    };
    await addCategory('Software');
    await addCategory('Linux', 'Software');

    // The form, with the upload slowed down so that progress is visible.
    await page.goto(`${base}/admin/downloads/new`);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 1024 * 1024 });
    await page.exposeFunction('recordProgress', (value: number) => progress.push(value));
    const progress: number[] = [];
    await page.evaluate(() => {
      const bar = document.querySelector('progress')!;
      new MutationObserver(() => (window as unknown as { recordProgress(v: number): void }).recordProgress(bar.value)).observe(bar, { attributes: true });
    });

    await page.getByLabel('Upload a file').setInputFiles(upload);
    await page.getByLabel('Title').fill('Tool 2.0 for Linux');
    await page.getByLabel('Description').fill('The **second** release.');
    await page.getByLabel('Primary category').selectOption({ label: '— Linux' });
    await page.getByLabel('Labels').fill('Type:Archive, OpSys:Linux');
    await page.getByLabel('State').selectOption('published');
    await page.getByRole('button', { name: 'Create download' }).click();
    await expect(page.locator('[data-progress]').isVisible()).resolves.toBe(true);
    await page.waitForURL(/\/admin\/downloads\/\d+$/, { timeout: 20_000 });
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

    expect(progress.length).toBeGreaterThan(2);
    expect(progress.some((v) => v > 0 && v < 100)).toBe(true);
    expect(Math.max(...progress)).toBe(100);
    await expect(page.locator('.flash-success').textContent()).resolves.toContain('Tool 2.0 for Linux');

    const row = await t.db.download.findFirstOrThrow({ where: { title: 'Tool 2.0 for Linux' } });
    expect(row.sha256).toBe(crypto.createHash('sha256').update(content).digest('hex'));

    // The public side.
    await page.goto(`${base}/downloads`);
    const linux = page.locator('section.category-linux');
    await expect(linux.locator('.category-title').textContent()).resolves.toMatch(/Linux\s+1/);
    await linux.getByRole('link', { name: 'Tool 2.0 for Linux' }).click();
    await page.waitForURL(`${base}/downloads/tool-2-0-for-linux`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Tool 2.0 for Linux');
    await expect(page.locator('.description strong').textContent()).resolves.toBe('second');
    await expect(page.locator('.facts').textContent()).resolves.toContain('3.0 MB');
    await expect(page.getByRole('link', { name: 'Type:Archive' }).count()).resolves.toBe(1);
    await expect(page.getByRole('link', { name: 'Download', exact: true }).getAttribute('href')).resolves.toBe('/downloads/tool-2-0-for-linux/file');
  });

  test('a refused upload shows the reason on the form without leaving the page', async () => {
    await page.goto(`${base}/admin/downloads/new`);
    await page.getByLabel('Upload a file').setInputFiles(upload);
    await page.getByLabel('Title').fill('Two types');
    await page.getByLabel('Labels').fill('Type:Archive, Type:Source');
    await page.getByRole('button', { name: 'Create download' }).click();
    await page.locator('#form-error').waitFor({ state: 'visible' });
    await expect(page.locator('#form-error').textContent()).resolves.toBe('Only one label of the class Type is allowed.');
    expect(new URL(page.url()).pathname).toBe('/admin/downloads/new');
  });
});
