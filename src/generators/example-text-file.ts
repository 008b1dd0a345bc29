/**
 * How to write a generator kind, in a few lines: a personalised text file. The template's
 * `{name}` is filled from `?name=`; everything that changes the output is in settings, the
 * asset or cacheInputs, so the cache can reuse the file for the next identical request.
 */
import fs from 'node:fs/promises';
import { z } from 'zod';
import type { GeneratorContext, GeneratorKind } from './generator-registry.ts';
import { fillPlaceholders } from './placeholder-text.ts';

const schema = z.object({
  template: z.string({ error: 'Enter the text of the file.' }).min(1, 'Enter the text of the file.').max(10_000, 'The text can be at most 10000 characters.'),
});

type Settings = z.output<typeof schema>;

function fileText(ctx: GeneratorContext<Settings>): string {
  return fillPlaceholders(ctx.settings.template, ['name'], ctx.query);
}

export const exampleTextFileKind: GeneratorKind<Settings> = {
  name: 'example-text-file',
  label: 'A personalised text file',
  version: 1,
  schema,
  extension: 'txt',
  mimeType: 'text/plain; charset=utf-8',
  queryParams: ['name'],
  cacheInputs: (ctx) => ({ text: fileText(ctx) }),
  async createFile(filePath, ctx) {
    await fs.writeFile(filePath, fileText(ctx), 'utf8');
  },
  makeFileName: (ctx) => `${ctx.download.slug}-personal.txt`,
  fields: [{ name: 'template', label: 'Text of the file', type: 'textarea', initial: 'Hello {name}!', help: '{name} is the link’s ?name=.' }],
};
