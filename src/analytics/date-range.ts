/**
 * Date ranges of the dashboard and the stats API, in UTC (rollup buckets are UTC hours and days).
 * `from` and `to` are days, both included (`?from=2026-01-01&to=2026-01-31` is January); the
 * stats API also takes ISO date-times, rounded outwards to whole hours or days.
 */
import { unprocessable } from '../errors.ts';

export type Granularity = 'hour' | 'day';

export interface DateRange {
  /** first instant of the range */
  from: Date;
  /** first instant after the range */
  to: Date;
}

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;
export const MAX_RANGE_DAYS = 3660;

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

const unit = (g: Granularity) => (g === 'day' ? DAY_MS : HOUR_MS);
const floorTo = (t: number, g: Granularity) => Math.floor(t / unit(g)) * unit(g);
const ceilTo = (t: number, g: Granularity) => Math.ceil(t / unit(g)) * unit(g);

export const isoDay = (d: Date) => d.toISOString().slice(0, 10);

function parseInstant(value: unknown, name: string, allowTime: boolean): { at: number; dateOnly: boolean } | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'string' && DATE.test(value)) {
    const at = Date.parse(`${value}T00:00:00Z`);
    if (Number.isFinite(at) && isoDay(new Date(at)) === value) return { at, dateOnly: true };
  }
  if (allowTime && typeof value === 'string' && DATE_TIME.test(value)) {
    const at = Date.parse(value);
    if (Number.isFinite(at)) return { at, dateOnly: false };
  }
  throw unprocessable(`${name} must be a date like 2026-05-01${allowTime ? ' or a date and time like 2026-05-01T10:00:00Z' : ''}.`, { code: 'RANGE_INVALID' });
}

export interface RangeOptions {
  now: Date;
  granularity?: Granularity;
  /** whole days ending today when `from` is not given */
  defaultDays?: number;
  allowTime?: boolean;
}

export function parseRange(query: { from?: unknown; to?: unknown }, options: RangeOptions): DateRange {
  const { now, granularity = 'day', defaultDays = 30, allowTime = false } = options;
  const toValue = parseInstant(query.to, 'to', allowTime);
  const fromValue = parseInstant(query.from, 'from', allowTime);
  // `to` names the last day included; a date-time is an instant, rounded up.
  const to = toValue ? (toValue.dateOnly ? toValue.at + DAY_MS : ceilTo(toValue.at, granularity)) : floorTo(now.getTime(), 'day') + DAY_MS;
  const from = fromValue ? floorTo(fromValue.at, granularity) : to - defaultDays * DAY_MS;
  if (from >= to) throw unprocessable('from must be on or before to.', { code: 'RANGE_INVALID' });
  if (to - from > MAX_RANGE_DAYS * DAY_MS) throw unprocessable(`A range covers at most ${MAX_RANGE_DAYS} days.`, { code: 'RANGE_INVALID' });
  return { from: new Date(from), to: new Date(to) };
}

/** The range of the same length just before. */
export function previousRange(range: DateRange): DateRange {
  const length = range.to.getTime() - range.from.getTime();
  return { from: new Date(range.from.getTime() - length), to: new Date(range.from) };
}

/** Bucket starts of the range: every hour or day in it. */
export function bucketsOf(range: DateRange, granularity: Granularity): Date[] {
  const out: Date[] = [];
  for (let t = floorTo(range.from.getTime(), granularity); t < range.to.getTime(); t += unit(granularity)) out.push(new Date(t));
  return out;
}

/** Day-aligned ranges read the day rollups; others the hourly ones. */
export function alignedTo(range: DateRange): Granularity {
  return range.from.getTime() % DAY_MS === 0 && range.to.getTime() % DAY_MS === 0 ? 'day' : 'hour';
}
