/**
 * HMAC-SHA256 signatures in GitHub's header format, `X-Signature-256: sha256=<hex>`, over the raw
 * body bytes (never a re-serialisation of parsed JSON). Comparisons are constant-time.
 */
import crypto from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Signature-256';

export function signatureOf(secret: string, body: Buffer | string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** True when `header` is `sha256=<64 hex>` and matches the body; malformed headers are false. */
export function signatureMatches(secret: string, body: Buffer, header: string): boolean {
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!match) return false;
  const expected = crypto.createHmac('sha256', secret).update(body).digest();
  return crypto.timingSafeEqual(expected, Buffer.from(match[1]!, 'hex'));
}

/** Compares two secrets without leaking where they differ, or (much of) their lengths. */
export function secretsMatch(given: string, expected: string): boolean {
  const digest = (s: string) => crypto.createHash('sha256').update(s).digest();
  return crypto.timingSafeEqual(digest(given), digest(expected));
}
