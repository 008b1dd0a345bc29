/**
 * Finds the download a serve request names. Lookups are cached for a second: the serve handler
 * is the hot path, and a second of staleness after an edit made on another instance is the
 * price (edits on this instance clear the cache at once through the event bus).
 */
import type { Clock } from '../clock.ts';
import { isLive } from '../downloads/catalogue-service.ts';
import type { DownloadService } from '../downloads/download-service.ts';
import { notFound } from '../errors.ts';
import { createTtlCache } from '../lib/ttl-cache.ts';

export type ServableDownload = NonNullable<Awaited<ReturnType<DownloadService['findServable']>>>;

export interface DownloadResolver {
  /** The download for a serve request: live ones for everybody, any for people who manage them. */
  /** A value when cached (no promise on the hot path), else a promise; throws 404 either way. */
  resolve(slug: string, canManage: boolean): ServableDownload | Promise<ServableDownload>;
  clear(): void;
}

export function createDownloadResolver(deps: { downloads: DownloadService; clock: Clock; ttlMs?: number }): DownloadResolver {
  const { downloads, clock, ttlMs = 1000 } = deps;
  const cache = createTtlCache<string, ServableDownload | null>(ttlMs);
  const lookup = (slug: string) => cache.get(slug, async () => (slug.length <= 100 ? downloads.findServable(slug) : null));
  const visible = (download: ServableDownload | null, canManage: boolean): ServableDownload => {
    if (!download || (!canManage && !isLive(download, clock.now()))) throw notFound('There is no download at this address.');
    return download;
  };

  return {
    resolve(slug, canManage) {
      const cached = cache.peek(slug);
      if (cached) return visible(cached.value, canManage);
      return lookup(slug).then((download) => visible(download, canManage));
    },
    clear: () => cache.clear(),
  };
}
