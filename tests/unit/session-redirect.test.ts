/**
 * A flash message set before a redirect is on the page the redirect leads to, even when the
 * browser follows the redirect as soon as the headers arrive and the session store is slow.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import session from 'express-session';
import { afterEach, describe, expect, test } from 'vitest';
import { saveSessionBeforeRedirect } from '../../src/http/session.ts';

declare module 'express-session' {
  interface SessionData {
    note?: string;
  }
}

/** A store whose writes take a while, like a busy database. */
class SlowStore extends session.MemoryStore {
  override set(sid: string, data: session.SessionData, callback?: (error?: unknown) => void): void {
    setTimeout(() => super.set(sid, data, callback), 150);
  }
}

let server: http.Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? (server.close(() => resolve()), server.closeAllConnections()) : resolve())));

async function appWith(...extra: RequestHandler[]): Promise<string> {
  const app = express();
  app.use(session({ secret: 'a test secret of some length', store: new SlowStore(), resave: false, saveUninitialized: false }), ...extra);
  app.post('/act', (req, res) => {
    req.session.note = 'The token was revoked.';
    res.redirect(303, '/page');
  });
  app.get('/page', (req, res) => res.send(req.session.note ?? '(nothing)'));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server!.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Posts, then loads the Location the moment the redirect's headers arrive, as a browser does. */
function postAndFollowOnHeaders(base: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const post = http.request(`${base}/act`, { method: 'POST' }, (response) => {
      const cookie = response.headers['set-cookie']?.[0]?.split(';')[0] ?? '';
      http
        .get(`${base}${response.headers.location}`, { headers: { cookie } }, (page) => {
          let body = '';
          page.on('data', (chunk: Buffer) => (body += chunk.toString()));
          page.on('end', () => resolve(body));
        })
        .on('error', reject);
      response.resume();
    });
    post.on('error', reject).end();
  });
}

describe('a redirect after a session change', () => {
  test('leads to a page that sees the change, whatever the store takes to write it', async () => {
    const base = await appWith(saveSessionBeforeRedirect);
    await expect(postAndFollowOnHeaders(base)).resolves.toBe('The token was revoked.');
  });

  test('without saving first, express-session lets the next page load the old session (why the middleware exists)', async () => {
    const base = await appWith();
    await expect(postAndFollowOnHeaders(base)).resolves.toBe('(nothing)');
  });
});
