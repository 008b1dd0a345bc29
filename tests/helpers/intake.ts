/** Posting to the download webhook intake the way CloudRepo or another system would. */
import crypto from 'node:crypto';
import type { TestApp } from './context.ts';

export const WEBHOOK_SECRET = 'intake-secret-for-tests-0123456789';

export const sign = (body: string | Buffer, secret = WEBHOOK_SECRET) => `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;

/** POST /callback with the body signed in X-Signature-256 (the body is sent byte for byte). */
export function postCallback(t: TestApp, payload: unknown, options: { secret?: string } = {}) {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return t.http.post('/callback').set('Content-Type', 'application/json').set('X-Signature-256', sign(body, options.secret)).send(body);
}

export function postEvents(t: TestApp, payload: unknown) {
  const body = JSON.stringify(payload);
  return t.http.post('/api/v1/events').set('Content-Type', 'application/json').set('X-Signature-256', sign(body)).send(body);
}
