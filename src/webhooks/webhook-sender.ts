/**
 * One HTTP POST of a webhook delivery: the stored JSON body as it is, signed with the endpoint's
 * secret (`X-Signature-256: sha256=<hex HMAC-SHA256 of the body>`), with its event type and
 * delivery id. Redirects are not followed, the whole exchange has a deadline, and the address is
 * checked against the SSRF policy (address-policy.ts). A 2xx answer is a delivery.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { SIGNATURE_HEADER, signatureOf } from '../lib/hmac.ts';
import { BlockedAddressError, guardedLookup, isPrivateAddress } from './address-policy.ts';

export const USER_AGENT = 'downloads-server-webhooks/1';
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface OutgoingDelivery {
  id: number;
  eventType: string;
  payload: string;
  attempt: number;
}

export interface SendResult {
  ok: boolean;
  /** the HTTP status, when an answer came */
  status: number | null;
  /** why it failed, in a few words (stored on the delivery) */
  error: string | null;
}

export type WebhookSender = (endpoint: { url: string; secret: string }, delivery: OutgoingDelivery) => Promise<SendResult>;

function describe(error: Error & { code?: string }, timeoutMs: number): string {
  if (error instanceof BlockedAddressError) return error.message;
  if (error.name === 'TimeoutError' || error.name === 'AbortError' || error.code === 'ETIMEDOUT') return `no answer within ${timeoutMs / 1000} s`;
  if (error.code === 'ECONNREFUSED') return 'connection refused';
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return 'host not found';
  if (error.code === 'ECONNRESET') return 'connection reset';
  return (error.message || String(error.code ?? 'request failed')).slice(0, 300);
}

export function createWebhookSender(options: { timeoutMs: number; allowPrivate: boolean }): WebhookSender {
  const { timeoutMs, allowPrivate } = options;

  return (endpoint, delivery) =>
    new Promise<SendResult>((resolve) => {
      let settled = false;
      const finish = (result: SendResult) => {
        if (!settled) {
          settled = true;
          resolve(result);
        }
      };
      const url = new URL(endpoint.url);
      const literal = url.hostname.replace(/^\[|\]$/g, '');
      // A literal address never goes through the lookup below.
      if (net.isIP(literal) && !allowPrivate && isPrivateAddress(literal)) {
        finish({ ok: false, status: null, error: new BlockedAddressError(literal).message });
        return;
      }
      const body = Buffer.from(delivery.payload);
      const request = (url.protocol === 'https:' ? https : http).request(url, {
        method: 'POST',
        agent: false,
        lookup: guardedLookup(allowPrivate) as unknown as net.LookupFunction,
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': body.length,
          'User-Agent': USER_AGENT,
          'X-Webhook-Event': delivery.eventType,
          'X-Webhook-Delivery': String(delivery.id),
          'X-Webhook-Attempt': String(delivery.attempt),
          [SIGNATURE_HEADER]: signatureOf(endpoint.secret, body),
        },
      });
      request.on('response', (response) => {
        const status = response.statusCode ?? 0;
        const result = { ok: status >= 200 && status < 300, status, error: status >= 200 && status < 300 ? null : `HTTP ${status}` };
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          // The answer's body is not needed: stop reading a large one.
          if (received > MAX_RESPONSE_BYTES) response.destroy();
        });
        response.on('end', () => finish(result));
        response.on('close', () => finish(result));
        response.on('error', () => finish(result));
      });
      request.on('error', (error) => finish({ ok: false, status: null, error: describe(error, timeoutMs) }));
      request.end(body);
    });
}
