import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { afterEach, describe, expect, test } from 'vitest';
import { AppError } from '../../../src/errors.ts';
import { exampleTextFileKind } from '../../../src/generators/example-text-file.ts';
import {
  createGeneratorRegistry,
  parseGeneratorSettings,
  pickDeclaredQuery,
  readSettingsFields,
  servedFileName,
  type GeneratorContext,
  type GeneratorKind,
} from '../../../src/generators/generator-registry.ts';
import { textOverlayKind } from '../../../src/generators/text-overlay.ts';
import { tempDir } from '../../helpers/images.ts';

function kind(overrides: Partial<GeneratorKind<{ n: number }>> = {}): GeneratorKind<{ n: number }> {
  return {
    name: 'numbers',
    label: 'Numbers',
    version: 1,
    schema: z.object({ n: z.number({ error: 'Give a number.' }) }),
    extension: 'txt',
    mimeType: 'text/plain',
    queryParams: [],
    createFile: async () => {},
    ...overrides,
  };
}

function context<S>(settings: S, overrides: Partial<GeneratorContext<S>> = {}): GeneratorContext<S> {
  return { download: { id: 7, slug: 'welcome-pack', title: 'Welcome pack', fileName: null }, settings, query: {}, ...overrides };
}

describe('registry', () => {
  test('registered kinds are found by name and listed by label', () => {
    const registry = createGeneratorRegistry();
    registry.register(textOverlayKind);
    registry.register(exampleTextFileKind);
    expect(registry.get('text-overlay')).toBe(textOverlayKind);
    expect(registry.get('nope')).toBeUndefined();
    expect(registry.list().map((k) => k.label)).toEqual(['A personalised text file', 'Text on an image']);
  });

  test.each([
    ['a name used twice', [kind(), kind()], 'already registered'],
    ['a name with capitals', [kind({ name: 'Text_Overlay' })], 'lowercase words'],
    ['an extension with a dot', [kind({ extension: '.txt' })], 'invalid extension'],
    ['version 0', [kind({ version: 0 })], 'positive whole version'],
  ])('%s is a programming error', (_case, kinds, message) => {
    const registry = createGeneratorRegistry();
    expect(() => kinds.forEach((k) => registry.register(k))).toThrow(message);
  });
});

describe('served file name', () => {
  const fromKind = (): string => 'from-kind.txt';
  test.each([
    ['the download’s own file name first', 'pack.jpg', fromKind, 'pack.jpg'],
    ['else the kind’s', null, fromKind, 'from-kind.txt'],
    ['else <slug>.<extension>', null, undefined, 'welcome-pack.txt'],
  ])('%s', (_case, fileName, makeFileName, expected) => {
    const ctx = context({ n: 1 }, { download: { id: 7, slug: 'welcome-pack', title: 'Welcome pack', fileName } });
    expect(servedFileName(kind({ makeFileName }), ctx)).toBe(expected);
  });
});

describe('settings', () => {
  test('valid settings come back typed', () => {
    expect(parseGeneratorSettings(kind(), { n: 3 })).toEqual({ n: 3 });
  });

  test('invalid settings are a 422 listing each problem for people', () => {
    let error: unknown;
    try {
      parseGeneratorSettings(textOverlayKind, { text: '', x: -1, y: 0, width: 10, height: 100, font: 'dejavu-sans', fontSize: 20, colour: 'red' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    const appError = error as AppError;
    expect([appError.status, appError.code]).toEqual([422, 'SETTINGS_INVALID']);
    expect(appError.details?.problems).toEqual([
      { path: 'text', message: 'Enter the text to draw.' },
      { path: 'x', message: 'The box’s left edge (x) cannot be negative.' },
      { path: 'colour', message: 'Use a colour like #1a2b3c.' },
    ]);
  });
});

describe('declared query parameters', () => {
  test('only declared parameters pass, as their first string value', () => {
    const picked = pickDeclaredQuery({ queryParams: ['name', 'team'] }, { name: ['Ada', 'Grace'], team: { $ne: 1 }, token: 'secret' });
    expect(picked).toEqual({ name: 'Ada' });
  });

  test('inherited properties are not parameters', () => {
    expect(pickDeclaredQuery({ queryParams: ['toString'] }, {})).toEqual({});
  });
});

describe('the example kind: a personalised text file', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('fills {name} from the query and is named after the slug', async () => {
    dir = tempDir('example');
    const target = path.join(dir, 'out.txt');
    const ctx = context(parseGeneratorSettings(exampleTextFileKind, { template: 'Dear {name},\nwelcome. {other}' }), { query: { name: 'Ada' } });
    await exampleTextFileKind.createFile(target, ctx);
    expect(fs.readFileSync(target, 'utf8')).toBe('Dear Ada,\nwelcome. {other}');
    expect(servedFileName(exampleTextFileKind, ctx)).toBe('welcome-pack-personal.txt');
    expect(exampleTextFileKind.cacheInputs!(ctx)).toEqual({ text: 'Dear Ada,\nwelcome. {other}' });
  });
});

describe('settings sent by a form or a request', () => {
  const numbers = kind({
    fields: [
      { name: 'n', label: 'N', type: 'number' },
      { name: 'label', label: 'Label', type: 'text' },
    ],
  });

  test('declared number fields typed as text become numbers; other fields stay as sent', () => {
    expect(readSettingsFields(numbers, { n: ' 42 ', label: '7', other: 'x' })).toEqual({ n: 42, label: '7' });
    expect(readSettingsFields(numbers, { n: 3 })).toEqual({ n: 3 });
  });

  test('text that is not a number is left for the schema to refuse with its message', () => {
    const raw = readSettingsFields(numbers, { n: '12px' });
    expect(raw).toEqual({ n: '12px' });
    expect(() => parseGeneratorSettings(numbers, raw)).toThrow('Give a number.');
    expect(readSettingsFields(numbers, { n: '' })).toEqual({ n: undefined });
  });

  test('fields left out keep the stored settings', () => {
    expect(readSettingsFields(numbers, { label: 'new' }, { n: 5, label: 'old' })).toEqual({ n: 5, label: 'new' });
  });

  test('a kind without fields takes nothing from a request', () => {
    expect(readSettingsFields(kind(), { n: '1' })).toEqual({});
  });
});
