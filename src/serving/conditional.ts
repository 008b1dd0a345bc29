/**
 * Conditional requests, judged from the validators the handler has just set, exactly as `send`
 * (APP mode) will judge them: a fresh If-None-Match / If-Modified-Since means 304, and a Range
 * whose If-Range no longer matches the file is ignored (the whole file, 200).
 */
import fresh from 'fresh';
import type { Request } from 'express';

export interface Validators {
  etag: string;
  lastModified: Date;
}

const UNCONDITIONAL = Object.freeze({ notModified: false, rangeIgnored: false });

export function conditionalState(req: Request, file: Validators): { notModified: boolean; rangeIgnored: boolean } {
  const conditional = req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined;
  if (!conditional && !req.headers['if-range']) return UNCONDITIONAL;
  const validators = { etag: file.etag, 'last-modified': file.lastModified.toUTCString() };
  const notModified = conditional && (req.method === 'GET' || req.method === 'HEAD') && fresh(req.headers, validators);
  const ifRange = req.get('if-range');
  let rangeIgnored = false;
  if (ifRange && req.headers.range) {
    if (ifRange.includes('"')) rangeIgnored = ifRange.trim() !== validators.etag;
    else {
      const since = Date.parse(ifRange);
      rangeIgnored = Number.isNaN(since) || Date.parse(validators['last-modified']) > since;
    }
  }
  return { notModified, rangeIgnored };
}
