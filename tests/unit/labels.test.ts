import { describe, expect, test } from 'vitest';
import { LabelError, formatLabel, oneMaxViolations, parseLabel, parseLabelList } from '../../src/downloads/labels.ts';

describe('labels', () => {
  test.each([
    ['Type:Installer', { class: 'Type', name: 'Installer' }],
    [' OpSys : Windows ', { class: 'OpSys', name: 'Windows' }],
    ['Deprecated', { class: 'Other', name: 'Deprecated' }],
    ['Note:a:b', { class: 'Note', name: 'a:b' }],
    ['type:archive', { class: 'type', name: 'archive' }],
  ])('%j parses to %j', (text, expected) => {
    expect(parseLabel(text)).toEqual(expected);
  });

  test('empty labels are nothing; half labels and control characters are errors', () => {
    expect(parseLabel('   ')).toBeUndefined();
    expect(() => parseLabel('Type:')).toThrow(LabelError);
    expect(() => parseLabel(':Name')).toThrow(LabelError);
    expect(() => parseLabel('Type:\u202Eexe.txt')).toThrow('control characters');
    expect(() => parseLabel('Type:a\u0000b')).toThrow('control characters');
  });

  test('a list drops empties and duplicates and keeps order', () => {
    expect(parseLabelList('Type:Archive, OpSys:Linux,,Type:Archive\nFeatured').map(formatLabel)).toEqual([
      'Type:Archive',
      'OpSys:Linux',
      'Other:Featured',
    ]);
  });

  test('one-max classes are compared without case', () => {
    const labels = parseLabelList('Type:Archive, type:Source, OpSys:Linux, OpSys:Windows');
    expect(oneMaxViolations(labels, ['Type'])).toEqual(['Type']);
    expect(oneMaxViolations(labels, ['Type', 'OpSys'])).toEqual(['Type', 'OpSys']);
    expect(oneMaxViolations(labels, [])).toEqual([]);
  });
});
