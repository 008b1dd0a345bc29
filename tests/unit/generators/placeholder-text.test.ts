import { describe, expect, test } from 'vitest';
import { MAX_PLACEHOLDER_VALUE_LENGTH, cleanPlaceholderValue, cleanText, fillPlaceholders } from '../../../src/generators/placeholder-text.ts';

describe('filling placeholders', () => {
  test('known placeholders are filled, unknown ones stay as typed', () => {
    expect(fillPlaceholders('Hi {name}, {team} {username}', ['name', 'username'], { name: 'Ada', username: 'ada' })).toBe('Hi Ada, {team} ada');
  });

  test('a known placeholder without a value becomes empty', () => {
    expect(fillPlaceholders('For {username}.', ['username'], {})).toBe('For .');
  });

  test('values are not searched for placeholders again', () => {
    expect(fillPlaceholders('{name}', ['name', 'username'], { name: '{username}', username: 'root' })).toBe('{username}');
  });

  test('inherited properties are not values', () => {
    expect(fillPlaceholders('{constructor}', ['constructor'], {})).toBe('');
  });
});

describe('cleaning', () => {
  test.each([
    ['Windows and old Mac line breaks', 'a\r\nb\rc', 'a\nb\nc'],
    ['tabs', 'a\tb', 'a b'],
    ['control characters and bidi overrides', 'a\u0000b\u0007c\u202ed', 'abcd'],
    ['decomposed accents', 'e\u0301', '\u00e9'],
    ['half a surrogate pair', 'a\ud800b', 'a\ufffdb'],
  ])('%s', (_case, text, expected) => {
    expect(cleanText(text)).toBe(expected);
  });

  test(`a value is one trimmed line of at most ${MAX_PLACEHOLDER_VALUE_LENGTH} characters`, () => {
    expect(cleanPlaceholderValue('  Ada\nLovelace  ')).toBe('Ada Lovelace');
    expect([...cleanPlaceholderValue('😀'.repeat(500))]).toHaveLength(MAX_PLACEHOLDER_VALUE_LENGTH);
  });
});
