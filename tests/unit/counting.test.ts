import { describe, expect, test } from 'vitest';
import { decideCounting, firstRange, isPrefetch, type CountingInput } from '../../src/serving/counting.ts';

const get = (overrides: Partial<CountingInput> = {}): CountingInput => ({
  method: 'GET',
  notModified: false,
  prefetch: false,
  bypass: false,
  size: 1000,
  ...overrides,
});

describe('the counting rules', () => {
  test('a plain GET counts', () => {
    expect(decideCounting(get())).toEqual({ counted: true, outcome: 'served' });
  });

  test.each([
    ['bytes=0-', { rangeStart: 0, rangeEnd: 999 }],
    ['bytes=0-99', { rangeStart: 0, rangeEnd: 99 }],
    ['bytes=0-10, 20-30', { rangeStart: 0, rangeEnd: 10 }],
  ])('a GET whose Range starts at byte 0 (%s) counts', (range, span) => {
    expect(decideCounting(get({ range }))).toEqual({ counted: true, outcome: 'served', ...span });
  });

  test.each([
    ['bytes=500-', 500],
    ['bytes=1-1', 1],
    ['bytes=-100', 900],
  ])('a Range starting later (%s) is a resume, not counted', (range, start) => {
    expect(decideCounting(get({ range }))).toMatchObject({ counted: false, outcome: 'resumed', reason: 'range', rangeStart: start });
  });

  test('a suffix range longer than the file is unsatisfiable, as send and range-parser answer it', () => {
    expect(decideCounting(get({ range: 'bytes=-5000' }))).toMatchObject({ counted: false, reason: 'range_unsatisfiable' });
  });

  test('a resume of a remote file (size unknown) is not counted', () => {
    expect(decideCounting(get({ size: undefined, range: 'bytes=100-' }))).toMatchObject({ counted: false, outcome: 'resumed' });
  });

  test.each([
    ['HEAD', { method: 'HEAD' }, 'head'],
    ['a 304', { notModified: true }, 'not_modified'],
    ['a prefetch', { prefetch: true }, 'prefetch'],
    ['a bypass role', { bypass: true }, 'bypass'],
  ])('%s is not counted', (_what, overrides, reason) => {
    expect(decideCounting(get(overrides))).toMatchObject({ counted: false, outcome: 'not_counted', reason });
  });

  test('an unsatisfiable range answers 416 and is not counted', () => {
    expect(decideCounting(get({ range: 'bytes=5000-' }))).toEqual({ counted: false, outcome: 'not_counted', reason: 'range_unsatisfiable' });
  });

  test('a malformed Range is ignored (the whole file is sent) and counts', () => {
    expect(decideCounting(get({ range: 'pages=1-2' }))).toEqual({ counted: true, outcome: 'served' });
    expect(decideCounting(get({ range: 'bytes=abc' }))).toEqual({ counted: true, outcome: 'served' });
  });

  test('a Range whose If-Range no longer matches is a full download', () => {
    expect(decideCounting(get({ range: 'bytes=500-', rangeIgnored: true }))).toEqual({ counted: true, outcome: 'served' });
  });

  test('firstRange reads the first range only', () => {
    expect(firstRange(undefined)).toBeUndefined();
    expect(firstRange('bytes=10-20,30-40', 100)).toEqual({ start: 10, end: 20 });
    expect(firstRange('bytes=200-', 100)).toBe('unsatisfiable');
  });
});

describe('prefetch detection', () => {
  test.each([
    [{ 'sec-purpose': 'prefetch' }, true],
    [{ 'sec-purpose': 'prefetch;prerender' }, true],
    [{ purpose: 'prefetch' }, true],
    [{ 'x-moz': 'prefetch' }, true],
    [{ 'x-purpose': 'preview' }, true],
    [{}, false],
    [{ purpose: 'navigate' }, false],
  ])('%j → %s', (headers, expected) => {
    expect(isPrefetch(headers)).toBe(expected);
  });
});
