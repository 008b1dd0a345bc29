/**
 * Debian's Chromium driven by playwright-core (no browser download: see README "Tests").
 * Playwright gives every launch a fresh temporary profile of its own.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { PASSWORD } from './auth.ts';
import { chromiumBinary } from './env.ts';

export async function launchBrowser(): Promise<Browser> {
  if (!chromiumBinary) throw new Error('Chromium is required for this test: apt-get install -y chromium');
  return chromium.launch({
    executablePath: chromiumBinary,
    headless: true,
    // Without the networking flags Chromium keeps trying hosts this machine cannot reach.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A page whose waits give up after 15 s: well inside the test's own timeout, so a stuck step
 * fails with Playwright's message naming the locator instead of a bare "test timed out".
 */
export async function openPage(browser: Browser): Promise<Page> {
  const page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

/** Signs in through the login form as a user made with the helpers' PASSWORD, and waits for /admin. */
export async function signIn(page: Page, base: string, username: string): Promise<void> {
  await page.goto(`${base}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/admin`);
}
