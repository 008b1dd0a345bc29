/// <reference lib="dom" />
/**
 * "Upload archive" in a real browser: a preview first (with the upload's progress bar), then
 * "Import now", the report with links to what was created, and an archive with problems that
 * shows every problem and imports nothing.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createUser } from '../helpers/auth.ts';
import { launchBrowser, openPage, signIn } from '../helpers/browser.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { TEST_TMP, chromiumBinary, skipWithout } from '../helpers/env.ts';
import { buildDownload, listFiles } from '../helpers/factories.ts';
import { buildZip } from '../helpers/zip.ts';

describe.skipIf(skipWithout(chromiumBinary))('an editor imports an archive in a real browser', { timeout: 60_000 }, () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let page: Page;
  let dir: string;

  beforeAll(async () => {
    t = await startTestApp();
    base = await t.listen();
    browser = await launchBrowser();
    dir = fs.mkdtempSync(path.join(TEST_TMP, 'e2e-archive-'));
    const editor = await createUser(t, 'editor', 'archie');
    page = await openPage(browser);
    await signIn(page, base, editor.username);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('previews the plan, imports on confirmation and links to the new downloads', async () => {
    const old = await buildDownload(t, { title: 'Tool 1.0', originalName: 'tool-1.0.zip' });
    const zip = path.join(dir, 'release-1.1.zip');
    fs.writeFileSync(
      zip,
      buildZip({
        'manifest.xml': `<manifest>
          <file><name>tool-1.1.zip</name><summary>Tool 1.1</summary><replaces>tool-1.0.zip</replaces><labels><label>Type:Archive</label></labels></file>
          <file><name>docs/guide.pdf</name><summary>Guide</summary></file>
        </manifest>`,
        'tool-1.1.zip': crypto.randomBytes(2 * 1024 * 1024),
        'docs/guide.pdf': '%PDF-1.4 guide',
        'README.txt': 'not listed',
      }),
    );

    await page.getByRole('link', { name: 'Upload archive' }).click();
    await page.waitForURL(`${base}/admin/archives`);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 512 * 1024 });
    const progress: number[] = [];
    await page.exposeFunction('recordProgress', (value: number) => progress.push(value));
    await page.evaluate(() => {
      const bar = document.querySelector('progress')!;
      new MutationObserver(() => (window as unknown as { recordProgress(v: number): void }).recordProgress(bar.value)).observe(bar, { attributes: true });
    });

    await page.getByLabel(/ZIP archive/).setInputFiles(zip);
    await expect(page.getByLabel(/Preview first/).isChecked()).resolves.toBe(true);
    await page.getByRole('button', { name: 'Upload archive' }).click();
    await page.waitForURL(`${base}/admin/archives/preview`, { timeout: 30_000 });
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    expect(progress.some((v) => v > 0 && v < 100)).toBe(true);
    expect(Math.max(...progress)).toBe(100);

    // The plan: nothing written yet.
    const plan = page.locator('#archive-plan tbody tr');
    await expect(plan.count()).resolves.toBe(2);
    await expect(plan.nth(0).textContent()).resolves.toMatch(/tool-1\.1\.zip[\s\S]*create[\s\S]*\/downloads\/tool-1-1[\s\S]*tool-1-0/);
    await expect(page.locator('body').textContent()).resolves.toContain('README.txt');
    expect(await t.db.download.count()).toBe(1);

    await page.getByRole('button', { name: 'Import now' }).click();
    await page.waitForURL(`${base}/admin/archives/report`);
    await expect(page.locator('.flash-success').textContent()).resolves.toMatch(/2 created, 0 replaced, 1 deprecated, 1 ignored/);
    await page.getByRole('link', { name: '/downloads/tool-1-1' }).click();
    await page.waitForURL(`${base}/downloads/tool-1-1`);
    await expect(page.locator('h1').textContent()).resolves.toContain('Tool 1.1');

    const deprecated = await t.db.download.findUniqueOrThrow({ where: { id: old.id }, include: { successor: true } });
    expect(deprecated).toMatchObject({ deprecated: true, successor: { slug: 'tool-1-1' } });
    // The previewed archive waited in staging and is gone now.
    expect(listFiles(path.join(t.mediaRoot, '.staging'))).toEqual([]);
  });

  test('an archive with problems shows every problem and imports nothing', async () => {
    const before = await t.db.download.count();
    const zip = path.join(dir, 'broken.zip');
    fs.writeFileSync(
      zip,
      buildZip({
        'manifest.xml': `<manifest>
          <file><name>a.bin</name></file>
          <file><name>missing.bin</name><summary>Missing</summary></file>
        </manifest>`,
        'a.bin': 'A',
      }),
    );
    await page.goto(`${base}/admin/archives`);
    await page.getByLabel(/ZIP archive/).setInputFiles(zip);
    await page.getByLabel(/Preview first/).uncheck();
    await page.getByRole('button', { name: 'Upload archive' }).click();
    const error = page.locator('#form-error');
    await error.waitFor({ state: 'visible' });
    await expect(error.locator('li').allTextContents()).resolves.toEqual([
      expect.stringContaining('Entry 1 (a.bin): the <summary>'),
      expect.stringContaining('Entry 2 (missing.bin): the archive has no file with this name'),
    ]);
    expect(page.url()).toBe(`${base}/admin/archives`);
    expect(await t.db.download.count()).toBe(before);
  });

  test('without JavaScript the form posts and shows the report page the same way', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    try {
      const plain = await context.newPage();
      await signIn(plain, base, 'archie');
      const zip = path.join(dir, 'plain.zip');
      fs.writeFileSync(zip, buildZip({ 'manifest.xml': '<manifest><file><name>plain.txt</name><summary>Plain</summary></file></manifest>', 'plain.txt': 'P' }));
      await plain.goto(`${base}/admin/archives`);
      await plain.getByLabel(/ZIP archive/).setInputFiles(zip);
      await plain.getByLabel(/Preview first/).uncheck();
      await plain.getByRole('button', { name: 'Upload archive' }).click();
      await plain.waitForURL(`${base}/admin/archives/report`);
      await expect(plain.locator('#archive-plan').textContent()).resolves.toContain('/downloads/plain');
    } finally {
      await context.close();
    }
  });
});
