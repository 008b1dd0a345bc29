/**
 * Generated downloads wired into the server: the registry with the built-in kinds, the cache of
 * generated files under MEDIA_ROOT/downloads/tmp/, the per-client limit on renders, the serve
 * handler's locator for generated downloads (serving/file-target.ts), and the cleaning of the
 * cache folder and of stale staging folders (in the server and by `npm run cli -- cleanup`).
 *
 * Nothing here loads sharp or fontkit: a kind imports them on its first render.
 */
import path from 'node:path';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { downloadFields } from '../downloads/download-schemas.ts';
import { AppError, notFound, tooManyRequests } from '../errors.ts';
import type { LocalFile } from '../serving/delivery.ts';
import type { ServableDownload } from '../serving/download-resolver.ts';
import type { TargetRequest } from '../serving/file-target.ts';
import type { FileStore } from '../storage/file-store.ts';
import { exampleTextFileKind } from './example-text-file.ts';
import { createGeneratedFileCache, createRenderRateLimiter, ensureGeneratedFile, type GeneratedFileCache, type RenderRateLimiter } from './generated-file-cache.ts';
import {
  createGeneratorRegistry,
  parseGeneratorSettings,
  pickDeclaredQuery,
  servedFileName,
  type GeneratorContext,
  type GeneratorKind,
  type GeneratorRegistry,
} from './generator-registry.ts';
import { createTextOverlayKind } from './text-overlay-kind.ts';
import { startSweeper, sweepGeneratedFiles, type SweepResult, type SweeperLogger } from './tmp-sweeper.ts';

/**
 * Staging folders older than this were left by a crash: an upload may stream for up to an hour
 * (server.requestTimeout in main.ts), so this leaves a wide margin.
 */
export const STALE_STAGING_MS = 6 * 3_600_000;

/**
 * How long a located generated file is handed out again without asking the cache: the same
 * second-long trust the serve path gives a stored file's stat. It spares identical requests the
 * cache key (text filling, JSON and SHA-256: most of a hit's cost).
 */
const LOCATED_FRESH_MS = 1000;

/** Names a kind's fields and asset may not take: the download's own fields arrive in the same form. */
const RESERVED_FIELDS = new Set([...Object.keys(downloadFields.shape), 'kind', 'file', 'category', '_csrf']);

export interface CleanupReport {
  generated: SweepResult;
  /** Staging folders removed. */
  staging: number;
}

export interface GeneratedDownloads {
  registry: GeneratorRegistry;
  /** Registers a kind after checking its form fields do not clash with the download's own. */
  register<S>(kind: GeneratorKind<S>): void;
  cache: GeneratedFileCache;
  /** The serve handler's locator for downloads with a generator. */
  locate(download: ServableDownload, request: TargetRequest): Promise<LocalFile>;
  /** The context a kind gets for a download (also for admin previews). */
  context<S>(kind: GeneratorKind<S>, download: GeneratorContext<S>['download'], settings: S, request: TargetRequest, asset?: GeneratorContext<S>['asset']): GeneratorContext<S>;
  /** Removes expired and over-quota generated files and stale staging folders, once. */
  cleanup(): Promise<CleanupReport>;
  /** Cleans now and every DOWNLOAD_TMP_SWEEP_INTERVAL; main.ts stops it at shutdown. */
  startSweeper(log?: SweeperLogger): { stop(): void };
}

export function createGeneratedDownloads(deps: { config: Pick<Config, 'generated'>; clock: Clock; files: FileStore }): GeneratedDownloads {
  const { config, clock, files } = deps;
  const settings = config.generated;
  const registry = createGeneratorRegistry();
  const cache = createGeneratedFileCache({ dir: settings.dir, clock, maxConcurrentRenders: settings.renderConcurrency });
  const limiter: RenderRateLimiter = createRenderRateLimiter({ perMinute: settings.renderRateLimit, clock });
  // Parsed once per resolver entry (the resolver hands out the same object for a second).
  const parsed = new WeakMap<object, unknown>();
  // By resolver entry, then by what the request adds to the settings: the query the kind reads and the user.
  let located = new WeakMap<object, Map<string, { target: LocalFile; at: number }>>();

  function register<S>(kind: GeneratorKind<S>) {
    for (const name of [...(kind.fields ?? []).map((f) => f.name), ...(kind.asset ? [kind.asset.field] : [])]) {
      if (RESERVED_FIELDS.has(name)) throw new Error(`Generator kind "${kind.name}": the field name "${name}" is taken by the download form`);
    }
    registry.register(kind);
  }
  register(createTextOverlayKind({ maxPixels: settings.maxPixels, timeoutSeconds: Math.ceil(settings.renderTimeoutMs / 1000) }));
  register(exampleTextFileKind);

  function storedSettings(generator: NonNullable<ServableDownload['generator']>, kind: GeneratorKind<unknown>): unknown {
    if (parsed.has(generator)) return parsed.get(generator);
    let value: unknown;
    try {
      value = parseGeneratorSettings(kind, JSON.parse(generator.settings));
    } catch (error) {
      // Saved settings passed the kind's schema when saved: failing now is a kind changed under them.
      throw new AppError(500, 'The stored settings of this generated download are no longer valid.', { code: 'GENERATOR_SETTINGS_INVALID', cause: error });
    }
    parsed.set(generator, value);
    return value;
  }

  function context<S>(kind: GeneratorKind<S>, download: GeneratorContext<S>['download'], values: S, request: TargetRequest, asset?: GeneratorContext<S>['asset']): GeneratorContext<S> {
    return { download, settings: values, user: request.user, query: pickDeclaredQuery(kind, request.query), asset };
  }

  function limitRenders(clientKey: string) {
    if (limiter.allow(clientKey)) return;
    const seconds = Math.max(1, limiter.retryAfterSeconds(clientKey));
    throw tooManyRequests(`Too many new files were made for this address; try again in ${seconds} seconds.`, {
      code: 'RENDER_RATE_LIMITED',
      headers: { 'Retry-After': String(seconds) },
    });
  }

  async function locate(download: ServableDownload, request: TargetRequest): Promise<LocalFile> {
    const generator = download.generator!;
    const kind = registry.get(generator.kind);
    if (!kind) throw notFound('This kind of download cannot be generated here.', { code: 'GENERATOR_MISSING' });
    const query = pickDeclaredQuery(kind, request.query);
    const requestKey = `${request.user?.id ?? ''}\u0000${request.user?.username ?? ''}\u0000${JSON.stringify(query)}`;
    let known = located.get(generator);
    const hit = known?.get(requestKey);
    if (hit && performance.now() - hit.at < LOCATED_FRESH_MS) return hit.target;

    const asset = generator.assetKey ? { path: files.pathOf(generator.assetKey), sha256: generator.assetSha256 ?? '' } : undefined;
    const ctx: GeneratorContext<unknown> = { download, settings: storedSettings(generator, kind), user: request.user, query, asset };
    const file = await ensureGeneratedFile(cache, kind, ctx, { beforeRender: () => limitRenders(request.clientKey ?? 'unknown') }).catch(renderFailure);
    const target: LocalFile = {
      kind: 'local',
      path: file.path,
      mediaPath: `downloads/${path.basename(settings.dir)}/${path.basename(file.path)}`,
      size: file.size,
      mtime: file.mtime,
      // The cache key names the content exactly: a strong validator.
      etag: `"${file.key}"`,
      fileName: servedFileName(kind, ctx),
      mimeType: kind.mimeType,
      generated: true,
    };
    if (!known) located.set(generator, (known = new Map()));
    if (known.size >= 200) known.clear();
    known.set(requestKey, { target, at: performance.now() });
    return target;
  }

  /** After files were removed: nothing located before may be handed out again. */
  function forgetLocated() {
    located = new WeakMap();
    cache.forgetSeen();
  }

  async function cleanup(): Promise<CleanupReport> {
    const generated = await sweepGeneratedFiles({ dir: settings.dir, ttlMs: settings.ttlMs, quotaBytes: settings.quotaBytes, clock });
    forgetLocated();
    const staging = await files.sweepStaging(STALE_STAGING_MS, clock.now());
    return { generated, staging };
  }

  return {
    registry,
    register,
    cache,
    locate,
    context,
    cleanup,
    startSweeper(log) {
      if (settings.sweepIntervalMs <= 0) return { stop() {} };
      return startSweeper({
        dir: settings.dir,
        ttlMs: settings.ttlMs,
        quotaBytes: settings.quotaBytes,
        clock,
        intervalMs: settings.sweepIntervalMs,
        log,
        async afterSweep() {
          forgetLocated();
          const staging = await files.sweepStaging(STALE_STAGING_MS, clock.now());
          if (staging) log?.info({ removed: staging }, 'stale staging folders removed');
        },
      });
    },
  };
}

/**
 * A render that fails while serving is not the visitor's doing: the settings and the input file
 * were checked by a render when they were saved. A missing input file is a 404 like a missing
 * stored file; a refusal of the kind's (a 422) means the stored data changed and is our error.
 * A rate limit (429) and a timeout (503) stay as they are.
 */
function renderFailure(error: unknown): never {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw notFound('The file of this download is missing.', { code: 'FILE_MISSING', cause: error });
  }
  if (error instanceof AppError && error.status === 422) {
    throw new AppError(500, 'This file could not be made.', { code: 'RENDER_FAILED', cause: error });
  }
  throw error;
}
