/**
 * What a download may be made of, validated once for the admin form, the JSON API, the CLI and
 * archive import. Form and multipart values arrive as strings; JSON may carry real types.
 */
import { z } from 'zod';
import { cleanLine, cleanText } from '../lib/text.ts';

export const STATES = ['published', 'unpublished'] as const;
export type DownloadState = (typeof STATES)[number];

export const TITLE_MAX = 200;
export const DESCRIPTION_MAX = 100_000;
export const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

const checkbox = z
  .union([z.boolean(), z.enum(['1', '0', 'true', 'false', 'on', 'off', 'yes', 'no', ''])])
  .transform((v) => v === true || v === '1' || v === 'true' || v === 'on' || v === 'yes');

const optionalInt = (min: number, max: number, what: string) =>
  z
    .union([z.number(), z.string()])
    .transform((v, ctx) => {
      if (v === '' || v === null) return null;
      const n = typeof v === 'number' ? v : Number(v.trim());
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `${what} must be a whole number from ${min} to ${max}.` });
        return z.NEVER;
      }
      return n;
    })
    .nullable();

/** `2026-05-01T10:00` (form, read as UTC), a full ISO date, or empty for none. */
const optionalDate = (what: string) =>
  z
    .union([z.string(), z.date()])
    .transform((v, ctx) => {
      if (v === '') return null;
      if (v instanceof Date) return v;
      const text = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(v.trim()) ? `${v.trim()}Z` : v.trim();
      const date = new Date(text);
      if (Number.isNaN(date.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(text)) {
        ctx.addIssue({ code: 'custom', message: `${what} must be a date like 2026-05-01T10:00 (UTC).` });
        return z.NEVER;
      }
      return date;
    })
    .nullable();

export const remoteUrlSchema = z
  .string()
  .transform((v, ctx) => {
    const text = v.trim();
    if (!text) return null;
    let url: URL | undefined;
    try {
      url = /[\u0000-\u001f\u007f\s\\]/.test(text) ? undefined : new URL(text);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || !url.hostname || !/^https?:\/\/[^/]/i.test(text)) {
      ctx.addIssue({ code: 'custom', message: 'The remote URL must be a full http:// or https:// address.' });
      return z.NEVER;
    }
    if (url.username || url.password) {
      ctx.addIssue({ code: 'custom', message: 'The remote URL must not contain a user name or password.' });
      return z.NEVER;
    }
    return url.href;
  })
  .nullable();

const title = z
  .string()
  .transform(cleanLine)
  .pipe(z.string().min(1, 'Enter a title.').max(TITLE_MAX, `Titles are at most ${TITLE_MAX} characters.`));

const slug = z
  .string()
  .transform((v) => v.trim().toLowerCase())
  .pipe(
    z.union([
      z.literal(''),
      z.string().max(100, 'Slugs are at most 100 characters.').regex(SLUG_PATTERN, 'Slugs use a-z, 0-9 and single hyphens.'),
    ]),
  );

const idList = z
  .union([z.array(z.union([z.string(), z.number()])), z.string(), z.number()])
  .transform((v) => (Array.isArray(v) ? v : String(v).split(',')).map((x) => String(x).trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^\d{1,9}$/, 'Unknown category.').transform(Number)).max(50));

/** Every field a download can be given; all optional here, `createInput` requires the title. */
export const downloadFields = z.object({
  title,
  slug,
  description: z.string().transform(cleanText).pipe(z.string().max(DESCRIPTION_MAX, `Descriptions are at most ${DESCRIPTION_MAX} characters.`)),
  fileName: z.string().transform(cleanLine).pipe(z.string().max(255, 'File names are at most 255 characters.')),
  remoteUrl: remoteUrlSchema,
  primaryCategoryId: optionalInt(1, 2 ** 31 - 1, 'The category'),
  categoryIds: idList,
  labels: z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v.join(',') : v)),
  state: z.enum(STATES, { error: 'State is published or unpublished.' }),
  visible: checkbox,
  publishOn: optionalDate('Publish on'),
  retractOn: optionalDate('Retract on'),
  requiresToken: checkbox,
  tokenMaxDownloads: optionalInt(-1_000_000, 1_000_000, 'Downloads per token'),
  tokenValidityDays: optionalInt(-100_000, 100_000, 'Token validity'),
  deprecated: checkbox,
  successorSlug: z.string().transform((v) => v.trim().toLowerCase() || null).nullable(),
});

export const downloadChanges = downloadFields.partial();
export type DownloadChanges = z.infer<typeof downloadChanges>;

export const createInput = downloadChanges.extend({ title });
export type CreateInput = z.infer<typeof createInput>;

/** Keeps only the fields a form or request actually sent (an absent checkbox is "off" in forms). */
export function pickSent(body: Record<string, unknown>, checkboxesFromForm: boolean): Record<string, unknown> {
  const keys = Object.keys(downloadFields.shape);
  const sent: Record<string, unknown> = {};
  for (const key of keys) if (Object.prototype.hasOwnProperty.call(body, key)) sent[key] = body[key];
  if (checkboxesFromForm) {
    for (const key of ['visible', 'requiresToken', 'deprecated']) if (!(key in sent)) sent[key] = false;
    if (!('categoryIds' in sent)) sent.categoryIds = [];
  }
  return sent;
}
