/**
 * Generated downloads: a download whose file is made on request by a "kind" (the seed's
 * TemporaryDownloadAbstract subclasses). A kind declares its settings schema, the query
 * parameters it reads and how to make the file; generated-file-cache.ts decides whether it has to.
 */
import type { z } from 'zod';
import { unprocessable } from '../errors.ts';

export interface GeneratorContext<S> {
  download: { id: number; slug: string; title: string; fileName: string | null };
  /** Already validated by the kind's schema. */
  settings: S;
  user?: { id: number; username: string };
  /** Only the query parameters the kind declares (see pickDeclaredQuery). */
  query: Readonly<Record<string, string>>;
  /** An uploaded input file, e.g. the background image. */
  asset?: { path: string; sha256: string };
}

/**
 * One setting as the admin form shows it and as forms and multipart requests send it (strings;
 * `number` fields are turned into numbers before the schema sees them).
 */
export interface GeneratorField {
  name: string;
  label: string;
  type: 'text' | 'textarea' | 'number' | 'colour' | 'select';
  help?: string;
  /** For `select`. */
  options?: readonly { value: string; label: string }[];
  /** What the form of a new download starts with. */
  initial?: string | number;
  maxLength?: number;
  min?: number;
  max?: number;
}

/** An input file the kind needs, uploaded with the download (e.g. the background image). */
export interface GeneratorAsset {
  /** The multipart field it arrives in. */
  field: string;
  label: string;
  /** The file picker's `accept` hint; the server decides by the content (validate). */
  accept: string;
  required: boolean;
  /** Throws a 422 AppError when the staged file cannot be used. */
  validate(filePath: string, size: number): Promise<void>;
}

export interface GeneratorKind<S> {
  /** Stored with the download; lowercase words joined by dashes, e.g. 'text-overlay'. */
  name: string;
  /** Shown to people, e.g. 'Text on an image'. */
  label: string;
  /** Bump when the output for the same inputs changes: it is part of the cache key. */
  version: number;
  /** Settings, with messages written for people. */
  schema: z.ZodType<S>;
  extension: string;
  mimeType: string;
  queryParams: readonly string[];
  /** Everything besides settings and asset that changes the output (e.g. the filled-in text). */
  cacheInputs?(ctx: GeneratorContext<S>): unknown;
  createFile(filePath: string, ctx: GeneratorContext<S>): Promise<void>;
  /** The served name when the download has no fileName of its own. */
  makeFileName?(ctx: GeneratorContext<S>): string;
  /** The settings a form or a multipart request may send; a kind without them is made in code only. */
  fields?: readonly GeneratorField[];
  asset?: GeneratorAsset;
}

export interface GeneratorRegistry {
  register<S>(kind: GeneratorKind<S>): void;
  get(name: string): GeneratorKind<unknown> | undefined;
  list(): GeneratorKind<unknown>[];
}

const KIND_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const EXTENSION = /^[a-z0-9]{1,10}$/;

export function createGeneratorRegistry(): GeneratorRegistry {
  const kinds = new Map<string, GeneratorKind<unknown>>();
  return {
    register(kind) {
      // These are programming mistakes in a kind, found when the server starts, not user input.
      if (!KIND_NAME.test(kind.name)) throw new Error(`Generator kind name "${kind.name}" must be lowercase words joined by dashes`);
      if (!EXTENSION.test(kind.extension)) throw new Error(`Generator kind "${kind.name}" has an invalid extension "${kind.extension}"`);
      if (!Number.isInteger(kind.version) || kind.version < 1) throw new Error(`Generator kind "${kind.name}" needs a positive whole version`);
      if (kinds.has(kind.name)) throw new Error(`Generator kind "${kind.name}" is already registered`);
      // Safe: the registry hands a kind only contexts whose settings its own schema produced.
      kinds.set(kind.name, kind as unknown as GeneratorKind<unknown>);
    },
    get: (name) => kinds.get(name),
    list: () => [...kinds.values()].sort((a, b) => a.label.localeCompare(b.label)),
  };
}

/** The seed's rule: the download's own file name, else the kind's, else `<slug>.<extension>`. */
export function servedFileName<S>(kind: GeneratorKind<S>, ctx: GeneratorContext<S>): string {
  return ctx.download.fileName || kind.makeFileName?.(ctx) || `${ctx.download.slug}.${kind.extension}`;
}

/** Validates settings (from the admin form or the database) into the kind's type; 422 with every problem. */
export function parseGeneratorSettings<S>(kind: Pick<GeneratorKind<S>, 'schema'>, raw: unknown): S {
  const result = kind.schema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
  throw unprocessable(problems.map((p) => p.message).join(' '), { code: 'SETTINGS_INVALID', details: { problems } });
}

/**
 * The declared parameters from a parsed query string (Express gives strings, arrays or objects):
 * the first string value of each, nothing else, so undeclared parameters can never reach a kind
 * or split the cache.
 */
export function pickDeclaredQuery(kind: Pick<GeneratorKind<unknown>, 'queryParams'>, query: Record<string, unknown>): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of kind.queryParams) {
    const value = Object.hasOwn(query, name) ? query[name] : undefined;
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string') picked[name] = first;
  }
  return picked;
}

/**
 * Raw settings from a form, a multipart or a JSON body: the kind's declared fields that were
 * sent, over `base` (the stored settings, when editing). Numbers typed as text become numbers;
 * anything else is left for the schema to refuse with its own message.
 */
export function readSettingsFields(
  kind: Pick<GeneratorKind<unknown>, 'fields'>,
  body: Record<string, unknown>,
  base: Record<string, unknown> = {},
): Record<string, unknown> {
  const raw: Record<string, unknown> = { ...base };
  for (const field of kind.fields ?? []) {
    if (!Object.hasOwn(body, field.name)) continue;
    const value = body[field.name];
    raw[field.name] = field.type === 'number' ? asNumber(value) : value;
  }
  return raw;
}

function asNumber(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (text === '') return undefined;
  return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : value;
}
