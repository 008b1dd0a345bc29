/// <reference lib="dom" />
/**
 * An editor makes a "text on an image" download in a real browser: chooses the kind, uploads a
 * background, watches the preview follow the fields (and say what is wrong), saves, edits, and
 * the published download serves the image with the visitor's name.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createUser } from '../helpers/auth.ts';
import { launchBrowser, openPage, signIn } from '../helpers/browser.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { TEST_TMP, chromiumBinary, skipWithout } from '../helpers/env.ts';
import { cachedFiles } from '../helpers/generated.ts';
import { solidBackground } from '../helpers/images.ts';

describe.skipIf(skipWithout(chromiumBinary))('an editor makes a generated download in a real browser', { timeout: 60_000 }, () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let page: Page;
  let backgroundFile: string;
  const problems: string[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    base = await t.listen();
    browser = await launchBrowser();
    backgroundFile = path.join(fs.mkdtempSync(path.join(TEST_TMP, 'e2e-')), 'card background.png');
    fs.writeFileSync(backgroundFile, await solidBackground('png'));
    const editor = await createUser(t, 'editor', 'gina');
    page = await openPage(browser);
    // Any script or style the Content-Security-Policy blocks shows up here (the 422 of the
    // preview with a box outside the image is expected).
    page.on('console', (message) => {
      if (message.type() === 'error' && !/status of 422/.test(message.text())) problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await signIn(page, base, editor.username);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    if (backgroundFile) fs.rmSync(path.dirname(backgroundFile), { recursive: true, force: true });
  });

  const preview = () => page.locator('[data-generated-form]');
  const previewImage = () => page.locator('[data-preview-image]');
  /** Waits for the preview to settle in `state` after the change `act` makes. */
  async function previewAfter(act: () => Promise<unknown>, state: 'ready' | 'error'): Promise<void> {
    await page.evaluate(() => delete (document.querySelector('[data-generated-form]') as HTMLElement).dataset.previewState);
    await act();
    await page.locator(`[data-generated-form][data-preview-state="${state}"]`).waitFor();
  }
  const imageSource = () => previewImage().getAttribute('src');
  const naturalSize = () => previewImage().evaluate((img: HTMLImageElement) => img.decode().then(() => [img.naturalWidth, img.naturalHeight]));

  test('creates one with a live preview, then edits it; visitors get the image with their name', async () => {
    await page.goto(`${base}/admin/downloads`);
    await page.getByRole('link', { name: 'New generated download' }).click();
    await page.getByRole('link', { name: 'Text on an image' }).click();
    await page.waitForURL(`${base}/admin/downloads/generated/new?kind=text-overlay`);
    await expect(page.locator('[data-preview-status]').textContent()).resolves.toBe('Choose the background image to see a preview.');

    await previewAfter(() => page.getByLabel('Background image').setInputFiles(backgroundFile), 'ready');
    await expect(naturalSize()).resolves.toEqual([1200, 630]);
    const first = await imageSource();
    expect(first).toMatch(/^blob:/);

    await previewAfter(() => page.locator('textarea[name="text"]').fill('Welcome aboard, {name}!\nSee you soon.'), 'ready');
    expect(await imageSource()).not.toBe(first);

    await previewAfter(() => page.getByLabel('Box width').fill('5000'), 'error');
    await expect(page.locator('[data-preview-status]').textContent()).resolves.toContain('must lie inside the 1200×630-pixel background');
    await previewAfter(() => page.getByLabel('Box width').fill('800'), 'ready');
    await previewAfter(() => page.getByLabel('Colour').fill('#ff3300'), 'ready');

    await page.getByLabel('Title', { exact: true }).fill('Welcome card');
    await page.getByLabel('State').selectOption('published');
    await page.getByRole('button', { name: 'Create download' }).click();
    await page.waitForURL(/\/admin\/downloads\/generated\/\d+$/);
    await expect(page.locator('.flash-success').textContent()).resolves.toContain('“Welcome card” was created.');

    const row = await t.db.download.findFirstOrThrow({ where: { title: 'Welcome card' }, include: { generator: true } });
    expect(JSON.parse(row.generator!.settings)).toMatchObject({ text: 'Welcome aboard, {name}!\nSee you soon.', width: 800, colour: '#ff3300' });

    // The edit page previews from the stored background at once.
    await page.locator('[data-generated-form][data-preview-state="ready"]').waitFor();
    await expect(naturalSize()).resolves.toEqual([1200, 630]);
    await previewAfter(() => page.getByLabel('Font size (pixels)').fill('60'), 'ready');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.flash-success', { hasText: '“Welcome card” was saved.' }).waitFor();
    expect(JSON.parse((await t.db.generatorSettings.findUniqueOrThrow({ where: { downloadId: row.id } })).settings).fontSize).toBe(60);
    expect(cachedFiles(t)).toEqual([]);

    // A visitor's download.
    const response = await page.request.get(`${base}/downloads/${row.slug}/file?name=Ada`);
    expect(response.status()).toBe(200);
    expect(response.headers()['content-disposition']).toBe('attachment; filename=welcome-card.jpg');
    expect(await sharp(await response.body()).metadata()).toMatchObject({ format: 'jpeg', width: 1200, height: 630 });
    expect(cachedFiles(t)).toHaveLength(1);
    expect(problems).toEqual([]);
  });
});
