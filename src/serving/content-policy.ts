/**
 * The headers a served file carries, whatever the delivery mode. Files are always attachments;
 * types a browser would execute or render as a page (HTML, SVG, JavaScript, XML) are served
 * as inert bytes, and X-Content-Type-Options: nosniff keeps browsers from guessing otherwise.
 */
import { create as contentDisposition } from 'content-disposition';
import { safeFileName } from '../lib/file-names.ts';

const RISKY = [
  /^text\/html\b/i,
  /^application\/xhtml\+xml\b/i,
  /^image\/svg\+xml\b/i,
  /javascript\b/i,
  /ecmascript\b/i,
  /^text\/xml\b/i,
  /^application\/xml\b/i,
  /\+xml\b/i,
  /^text\/xsl\b/i,
  /^application\/x-shockwave-flash\b/i,
  /^text\/css\b/i,
  /^multipart\//i,
];

const inertTypes = new Map<string, string>();

export function inertContentType(mimeType: string | null | undefined): string {
  const type = (mimeType ?? '').trim();
  let inert = inertTypes.get(type);
  if (inert === undefined) {
    const valid = !!type && /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(\s*;.*)?$/i.test(type);
    inert = !valid || RISKY.some((pattern) => pattern.test(type)) ? 'application/octet-stream' : type;
    if (inertTypes.size > 1000) inertTypes.clear();
    inertTypes.set(type, inert);
  }
  return inert;
}

const dispositions = new Map<string, string>();

/** `attachment; filename="ascii fallback"; filename*=UTF-8''…` from a cleaned, path-free name. */
export function attachmentHeader(name: string | null | undefined, fallback: string): string {
  const key = `${name ?? ''}\u0000${fallback}`;
  let header = dispositions.get(key);
  if (header === undefined) {
    header = contentDisposition(safeFileName(name, fallback), { type: 'attachment' });
    if (dispositions.size > 5000) dispositions.clear();
    dispositions.set(key, header);
  }
  return header;
}

/**
 * Every download must reach the server to be authorised and counted, so nothing may store it:
 * no-store says exactly that (JD's `no-cache, must-revalidate` add nothing once nothing is kept).
 */
export const DOWNLOAD_CACHE_CONTROL = 'no-store';

/**
 * What the nginx internal location adds to every served file (nginx/downloads.conf.template),
 * sent by the app itself when it streams (APP mode), so both modes answer alike.
 */
export const SERVED_FILE_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; sandbox",
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
