import { describe, expect, test } from 'vitest';
import { toCsv } from '../../../src/lib/csv.ts';
import { secretsMatch, signatureMatches, signatureOf } from '../../../src/lib/hmac.ts';

describe('webhook signatures', () => {
  // GitHub's published test vector ("Validating webhook deliveries").
  test('match the known answer', () => {
    expect(signatureOf("It's a Secret to Everybody", 'Hello, World!')).toBe('sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17');
    expect(signatureMatches("It's a Secret to Everybody", Buffer.from('Hello, World!'), 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17')).toBe(true);
  });

  test.each([
    ['another body', 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18'],
    ['no prefix', '757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17'],
    ['another algorithm', 'sha1=757107ea0eb2509fc211221cce984b8a37570b6d'],
    ['too short', 'sha256=7571'],
    ['not hex', `sha256=${'z'.repeat(64)}`],
    ['empty', ''],
  ])('refuse %s without throwing', (_name, header) => {
    expect(signatureMatches("It's a Secret to Everybody", Buffer.from('Hello, World!'), header)).toBe(false);
  });

  test('secrets of any length compare without throwing', () => {
    expect(secretsMatch('a', 'a much longer secret')).toBe(false);
    expect(secretsMatch('the same secret', 'the same secret')).toBe(true);
  });
});

describe('CSV', () => {
  test('quotes what must be quoted and defuses formulas', () => {
    expect(toCsv([['a,b', 'say "hi"', 'line\nbreak', 3, null], ['=1+1', '+x', '-y', '@z', -5]])).toBe(
      '"a,b","say ""hi""","line\nbreak",3,\r\n\'=1+1,\'+x,\'-y,\'@z,-5\r\n',
    );
  });
});
