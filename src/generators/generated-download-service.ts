/**
 * Creating and editing generated downloads, and admin previews. The kind's settings are read from
 * the request's fields, checked by its schema, the uploaded input file by its content, and then the
 * kind makes its file once in a staging folder: a download is saved only when its file can be
 * made. The rows are written by the download service (one transaction with the download);
 * nothing reaches MEDIA_ROOT/downloads/tmp/ from here, and the staging folder always goes.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { DownloadRecord } from '../downloads/download-repository.ts';
import type { Actor, DownloadService, IncomingFile } from '../downloads/download-service.ts';
import { AppError, tooManyRequests, unprocessable } from '../errors.ts';
import type { FileStore } from '../storage/file-store.ts';
import type { StagedUpload } from '../storage/upload-middleware.ts';
import type { GeneratedDownloads } from './generated-downloads.ts';
import { createRenderRateLimiter } from './generated-file-cache.ts';
import { parseGeneratorSettings, readSettingsFields, type GeneratorContext, type GeneratorKind } from './generator-registry.ts';

/** Kinds that are not generators: the download form's own. */
const STORED_KINDS = new Set(['', 'file', 'remote']);
/** Preview fields carrying a declared query parameter: `preview_name` is `?name=`. */
export const PREVIEW_PREFIX = 'preview_';

export interface PreviewFile {
  data: Buffer;
  mimeType: string;
}

type Uploads = Record<string, StagedUpload> | undefined;

export function createGeneratedDownloadService(deps: {
  downloads: DownloadService;
  generated: GeneratedDownloads;
  files: FileStore;
  clock: Clock;
  config: Pick<Config, 'generated'>;
}) {
  const { downloads, generated, files, clock } = deps;
  const previews = createRenderRateLimiter({ perMinute: deps.config.generated.renderRateLimit, clock });

  function kindNamed(name: unknown): GeneratorKind<unknown> {
    const kind = typeof name === 'string' ? generated.registry.get(name) : undefined;
    if (!kind?.fields) {
      const known = generated.registry.list().filter((k) => k.fields).map((k) => k.name);
      throw unprocessable(`Unknown kind of download "${String(name)}"; the generated kinds are: ${known.join(', ')}.`, { code: 'KIND_UNKNOWN' });
    }
    return kind;
  }

  function kindOf(download: DownloadRecord): GeneratorKind<unknown> {
    const kind = download.generator && generated.registry.get(download.generator.kind);
    if (!kind) throw new AppError(500, `The kind "${download.kind}" of this download is not installed.`, { code: 'GENERATOR_MISSING' });
    return kind;
  }

  /** The uploaded input file, checked by the kind; required ones must come with a new download. */
  async function uploadedAsset(kind: GeneratorKind<unknown>, uploads: Uploads, required: boolean): Promise<IncomingFile | undefined> {
    if (uploads?.file) throw unprocessable('A generated download makes its own file: do not upload one.', { code: 'SOURCE_CONFLICT' });
    const upload = kind.asset ? uploads?.[kind.asset.field] : undefined;
    if (!kind.asset || !upload) {
      if (kind.asset?.required && required) throw unprocessable(`Choose a file for “${kind.asset.label}”.`, { code: 'ASSET_MISSING' });
      return undefined;
    }
    await kind.asset.validate(upload.path, upload.size);
    return upload;
  }

  /** Makes the kind's file once, in a staging folder that is removed whatever happens. */
  async function renderInStaging<T>(kind: GeneratorKind<unknown>, ctx: GeneratorContext<unknown>, read: (file: string) => Promise<T>): Promise<T> {
    const staging = await files.createStaging();
    try {
      const target = path.join(staging, `check.${kind.extension}`);
      return await generated.cache.withRenderSlot(async () => {
        await kind.createFile(target, ctx);
        return read(target);
      });
    } finally {
      await files.discardStaging(staging);
    }
  }

  const assetOf = (upload: IncomingFile | undefined, download?: DownloadRecord) =>
    upload
      ? { path: upload.path, sha256: upload.sha256 }
      : download?.generator?.assetKey
        ? { path: files.pathOf(download.generator.assetKey), sha256: download.generator.assetSha256 ?? '' }
        : undefined;

  const draft = (fields: Record<string, unknown>, download?: DownloadRecord) => ({
    id: download?.id ?? 0,
    slug: download?.slug ?? (typeof fields.slug === 'string' && fields.slug ? fields.slug : 'new-download'),
    title: download?.title ?? (typeof fields.title === 'string' ? fields.title : ''),
    fileName: download?.fileName ?? null,
  });

  const storedSettings = (download: DownloadRecord) => JSON.parse(download.generator!.settings) as Record<string, unknown>;

  return {
    /** True when a create request names a generated kind (`kind=text-overlay`). */
    isGeneratedRequest: (body: Record<string, unknown> | undefined) => typeof body?.kind === 'string' && !STORED_KINDS.has(body.kind),

    /** The kinds people can make from a form, for the admin. */
    kinds: () => generated.registry.list().filter((k) => k.fields),
    kindNamed,
    kindOf,

    /** `fields`: the download's own fields (as for downloads.create); `body`: the kind's settings. */
    async create(fields: Record<string, unknown>, body: Record<string, unknown>, uploads: Uploads, actor?: Actor): Promise<DownloadRecord> {
      const kind = kindNamed(body.kind);
      const settings = parseGeneratorSettings(kind, readSettingsFields(kind, body));
      const asset = await uploadedAsset(kind, uploads, true);
      await renderInStaging(kind, generated.context(kind, draft(fields), settings, { query: {} }, assetOf(asset)), async () => undefined);
      return downloads.create(fields, undefined, actor, { kind: kind.name, mimeType: kind.mimeType, settings: JSON.stringify(settings), asset });
    },

    /** Fields left out keep their values; a new input file replaces the old one. */
    async update(download: DownloadRecord, fields: Record<string, unknown>, body: Record<string, unknown>, uploads: Uploads): Promise<DownloadRecord> {
      const kind = kindOf(download);
      const asset = await uploadedAsset(kind, uploads, false);
      const changed = asset || (kind.fields ?? []).some((field) => Object.hasOwn(body, field.name));
      if (!changed) return downloads.update(download.id, fields);
      const settings = parseGeneratorSettings(kind, readSettingsFields(kind, body, storedSettings(download)));
      await renderInStaging(kind, generated.context(kind, draft(fields, download), settings, { query: {} }, assetOf(asset, download)), async () => undefined);
      return downloads.update(download.id, fields, undefined, { settings: JSON.stringify(settings), asset });
    },

    /**
     * The file as the form's current values would make it, for the admin's live preview; never
     * cached, rate limited per user. `download`: the one being edited (its stored values and file
     * stand in for what the form does not send).
     */
    async preview(user: { id: number; username: string }, body: Record<string, unknown>, uploads: Uploads, download?: DownloadRecord): Promise<PreviewFile> {
      const kind = download ? kindOf(download) : kindNamed(body.kind);
      if (!previews.allow(`user:${user.id}`)) {
        const seconds = Math.max(1, previews.retryAfterSeconds(`user:${user.id}`));
        throw tooManyRequests(`Too many previews; the next one in ${seconds} seconds.`, { code: 'RENDER_RATE_LIMITED', headers: { 'Retry-After': String(seconds) } });
      }
      const settings = parseGeneratorSettings(kind, readSettingsFields(kind, body, download ? storedSettings(download) : {}));
      const asset = await uploadedAsset(kind, uploads, !download);
      const query: Record<string, string> = {};
      for (const [key, value] of Object.entries(body)) if (key.startsWith(PREVIEW_PREFIX) && typeof value === 'string') query[key.slice(PREVIEW_PREFIX.length)] = value;
      const ctx = generated.context(kind, draft(body, download), settings, { query, user }, assetOf(asset, download));
      return renderInStaging(kind, ctx, async (file) => ({ data: await fs.readFile(file), mimeType: kind.mimeType }));
    },
  };
}

export type GeneratedDownloadService = ReturnType<typeof createGeneratedDownloadService>;
