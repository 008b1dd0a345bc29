/// <reference lib="dom" />
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createUser } from '../helpers/auth.ts';
import { launchBrowser, signIn } from '../helpers/browser.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { chromiumBinary, skipWithout } from '../helpers/env.ts';
import { buildDownload } from '../helpers/factories.ts';

describe.skipIf(skipWithout(chromiumBinary))('the Tokens tab in a real browser', { timeout: 60_000 }, () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    t = await startTestApp();
    base = await t.listen();
    browser = await launchBrowser();
    context = await browser.newContext({ acceptDownloads: true });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const editor = await createUser(t, 'editor', 'tess');
    await signIn(page, base, editor.username);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  test('an editor issues a link, copies it, the link downloads once, and the editor revokes it', async () => {
    const d = await buildDownload(t, { title: 'Private report', requiresToken: true, content: 'secret numbers', originalName: 'report.txt' });
    await page.goto(`${base}/admin/downloads/${d.id}`);
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.waitForURL(`${base}/admin/downloads/${d.id}/tokens`);

    await page.getByLabel('Downloads per link').fill('1');
    await page.getByLabel('Note').fill('for the auditor');
    await page.getByRole('button', { name: 'Issue' }).click();
    const link = (await page.locator('#issued-0').textContent())!.trim();
    expect(link).toMatch(new RegExp(`^${base}/downloads/${d.slug}/file\\?token=dlt_`));
    await page.getByRole('button', { name: 'Copy' }).click();
    await expect(page.evaluate(() => navigator.clipboard.readText())).resolves.toBe(link);

    // The holder of the link downloads the file (a browser download, not a page).
    const holder = await context.newPage();
    const [download] = await Promise.all([holder.waitForEvent('download'), holder.evaluate((href) => (window.location.href = href), link).catch(() => undefined)]);
    expect(download.suggestedFilename()).toBe('report.txt');
    const again = await holder.goto(link);
    expect(again!.status()).toBe(410);
    await expect(holder.locator('main').textContent()).resolves.toContain('This link has been used 1 time, its limit.');
    await holder.close();

    await page.goto(`${base}/admin/downloads/${d.id}/tokens`);
    const row = page.locator('tbody tr', { hasText: 'for the auditor' });
    await expect(row.locator('td').nth(2).textContent()).resolves.toBe('1 / 1');
    await expect(row.locator('.badge').textContent()).resolves.toBe('used up');
    page.once('dialog', (dialog) => void dialog.accept());
    // Waiting on the POST itself makes a failure say what the server answered.
    const [revoked, reloaded] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/revoke')),
      page.waitForResponse((r) => r.request().method() === 'GET' && r.url() === `${base}/admin/downloads/${d.id}/tokens`),
      row.getByRole('button', { name: 'Revoke' }).click(),
    ]);
    expect(revoked.status()).toBe(303);
    expect(reloaded.status()).toBe(200);
    await page.waitForLoadState();
    await expect(page.locator('.flash').allTextContents()).resolves.toContain('The token was revoked: its link no longer works.');
    await expect(page.locator('tbody tr', { hasText: 'for the auditor' }).locator('.badge').textContent()).resolves.toBe('revoked');
  });
});
