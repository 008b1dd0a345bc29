/**
 * What a request to the serve handler counts as (CONTRACT.md "Counting rules"). A download is
 * counted — and a token use consumed — for an authorised GET whose Range is absent or starts at
 * byte 0. HEAD, 304, a Range starting later (a resume), bypass roles and prefetches are not
 * counted; every request still yields an event with its outcome.
 */

import parseRange from 'range-parser';

export type Outcome = 'served' | 'resumed' | 'not_counted' | 'denied' | 'failed';

export interface CountingInput {
  method: string;
  /** the Range header, if any */
  range?: string;
  /** If-Range present and not matching the current file: the Range will be ignored (200). */
  rangeIgnored?: boolean;
  /** the request's validators match the file: the answer is 304 */
  notModified: boolean;
  prefetch: boolean;
  bypass: boolean;
  /** size of the file when known (stored or generated); undefined for remote files */
  size?: number;
}

export interface CountingDecision {
  counted: boolean;
  outcome: Outcome;
  reason?: string;
  rangeStart?: number;
  rangeEnd?: number;
}

/**
 * The first byte range of a Range header, as `send` (APP mode) and nginx (LOCAL) will read it;
 * undefined when absent or malformed (both then send the whole file). An unknown size (a remote
 * file) is read as "very large", so a suffix range counts as a resume.
 */
export function firstRange(header: string | undefined, size?: number): { start: number; end?: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const parsed = parseRange(size ?? Number.MAX_SAFE_INTEGER, header);
  if (parsed === -1) return 'unsatisfiable';
  if (parsed === -2 || parsed.type !== 'bytes' || parsed.length === 0) return undefined;
  const first = parsed[0]!;
  return { start: first.start, end: size === undefined ? undefined : first.end };
}

export function decideCounting(input: CountingInput): CountingDecision {
  const parsed = input.rangeIgnored ? undefined : firstRange(input.range, input.size);
  const range = parsed === 'unsatisfiable' ? undefined : parsed;
  const span = range ? { rangeStart: range.start, rangeEnd: range.end } : {};
  if (input.method === 'HEAD') return { counted: false, outcome: 'not_counted', reason: 'head', ...span };
  if (input.notModified) return { counted: false, outcome: 'not_counted', reason: 'not_modified', ...span };
  if (parsed === 'unsatisfiable') return { counted: false, outcome: 'not_counted', reason: 'range_unsatisfiable' };
  if (range && range.start > 0) return { counted: false, outcome: 'resumed', reason: 'range', ...span };
  if (input.prefetch) return { counted: false, outcome: 'not_counted', reason: 'prefetch', ...span };
  if (input.bypass) return { counted: false, outcome: 'not_counted', reason: 'bypass', ...span };
  return { counted: true, outcome: 'served', ...span };
}

/** Browsers and proxies mark speculative loads; those are nobody's download. */
export function isPrefetch(headers: Record<string, string | string[] | undefined>): boolean {
  const value = (name: string) => String(headers[name] ?? '').toLowerCase();
  return (
    value('sec-purpose').includes('prefetch') ||
    value('purpose') === 'prefetch' ||
    value('x-purpose') === 'preview' ||
    value('x-moz') === 'prefetch'
  );
}
