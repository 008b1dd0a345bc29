import { describe, expect, test } from 'vitest';
import { bucketsOf, parseRange, previousRange } from '../../../src/analytics/date-range.ts';

const now = new Date('2026-05-20T15:30:00Z');
const iso = (r: { from: Date; to: Date }) => [r.from.toISOString(), r.to.toISOString()];

describe('date ranges (UTC)', () => {
  test('days include both ends; the default is the 30 days ending today', () => {
    expect(iso(parseRange({ from: '2026-05-01', to: '2026-05-01' }, { now }))).toEqual(['2026-05-01T00:00:00.000Z', '2026-05-02T00:00:00.000Z']);
    expect(iso(parseRange({}, { now }))).toEqual(['2026-04-21T00:00:00.000Z', '2026-05-21T00:00:00.000Z']);
    expect(iso(parseRange({ to: '2026-05-10' }, { now, defaultDays: 7 }))).toEqual(['2026-05-04T00:00:00.000Z', '2026-05-11T00:00:00.000Z']);
  });

  test('date-times are rounded outwards to the granularity', () => {
    expect(iso(parseRange({ from: '2026-05-01T10:30:00Z', to: '2026-05-01T12:00:01+02:00' }, { now, granularity: 'hour', allowTime: true }))).toEqual([
      '2026-05-01T10:00:00.000Z',
      '2026-05-01T11:00:00.000Z',
    ]);
  });

  test.each([
    [{ from: '2026-02-30' }, 'from must be a date'],
    [{ from: '2026-05-01T10:00:00Z' }, 'from must be a date like 2026-05-01.'],
    [{ from: ['2026-05-01', '2026-05-02'] }, 'from must be a date'],
    [{ from: '2026-05-02', to: '2026-05-01' }, 'from must be on or before to.'],
    [{ from: '2000-01-01', to: '2026-01-01' }, 'at most 3660 days'],
  ])('%j is refused: %s', (query, message) => {
    expect(() => parseRange(query, { now })).toThrow(message);
  });

  test('the previous period has the same length, and buckets cover the range', () => {
    const range = parseRange({ from: '2026-05-10', to: '2026-05-12' }, { now });
    expect(iso(previousRange(range))).toEqual(['2026-05-07T00:00:00.000Z', '2026-05-10T00:00:00.000Z']);
    expect(bucketsOf(range, 'day').map((d) => d.toISOString().slice(0, 10))).toEqual(['2026-05-10', '2026-05-11', '2026-05-12']);
    expect(bucketsOf(range, 'hour')).toHaveLength(72);
  });
});
