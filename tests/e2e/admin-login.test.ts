import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PASSWORD, createUser } from '../helpers/auth.ts';
import { launchBrowser, openPage } from '../helpers/browser.ts';
import { startTestApp, type TestApp } from '../helpers/context.ts';
import { chromiumBinary, skipWithout } from '../helpers/env.ts';

describe.skipIf(skipWithout(chromiumBinary))('signing in with a real browser', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestApp();
    base = await t.listen();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  test('an admin logs in, sees the admin home, and signs out', async () => {
    const admin = await createUser(t, 'admin', 'alice');
    const page = await openPage(browser);
    const consoleErrors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));

    await page.goto(`${base}/admin`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.getByLabel('Username').fill(admin.username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/admin`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Welcome, alice');
    expect(await page.getByRole('navigation', { name: 'Admin' }).textContent()).toContain('Users');

    await page.getByRole('button', { name: /Sign out/ }).click();
    await page.waitForURL(`${base}/login`);
    expect(consoleErrors).toEqual([]); // no CSP violations or script errors
    await page.close();
  });

  test('a wrong password shows a message on the form', async () => {
    const page = await openPage(browser);
    await page.goto(`${base}/login`);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('Wrong username or password.');
    await page.close();
  });
});
