/** Where the bytes of a download are: a stored file (checked on disk first) or a remote URL. */
import { notFound } from '../errors.ts';
import { createTtlCache } from '../lib/ttl-cache.ts';
import type { FileStore } from '../storage/file-store.ts';
import type { ServeTarget } from './delivery.ts';
import type { ServableDownload } from './download-resolver.ts';

export interface TargetRequest {
  query: Readonly<Record<string, string>>;
  user?: { id: number; username: string };
  /** The client, for the rate limit on renders of generated files. */
  clientKey?: string;
}

/** Generated kinds plug in here (generators/); stored and remote files are handled below. */
export type GeneratedLocator = (download: ServableDownload, request: TargetRequest) => Promise<ServeTarget>;

export function createTargetLocator(deps: { files: FileStore; generated?: GeneratedLocator; statTtlMs?: number }) {
  const { files } = deps;
  // Stored files never change under a key (a new file gets a new key), so a second-old stat is
  // as good as a fresh one, and the hot path skips a trip through libuv's thread pool.
  const stats = createTtlCache<string, Awaited<ReturnType<FileStore['stat']>>>(deps.statTtlMs ?? 1000);
  // The resolver hands out the same object for a download while its cache entry lives.
  const targets = new WeakMap<ServableDownload, { stat: object; target: ServeTarget }>();
  return async function locate(download: ServableDownload, request: TargetRequest): Promise<ServeTarget> {
    if (download.generator) {
      if (!deps.generated) throw notFound('This kind of download cannot be generated here.', { code: 'GENERATOR_MISSING' });
      return deps.generated(download, request);
    }
    if (download.kind === 'remote' && download.remoteUrl) return { kind: 'remote', url: download.remoteUrl };
    // Checked before anything is counted or consumed: a missing file is a 404, not a count
    // followed by nginx's 404 (the seed's behaviour).
    const key = download.fileKey;
    const stat = key ? (stats.peek(key)?.value ?? (await stats.get(key, () => files.stat(key)))) : undefined;
    if (!download.fileKey || !stat) throw notFound('The file of this download is missing.', { code: 'FILE_MISSING' });
    const known = targets.get(download);
    if (known?.stat === stat) return known.target;
    const target: ServeTarget = {
      kind: 'local',
      path: files.pathOf(download.fileKey),
      mediaPath: `downloads/${download.fileKey}`,
      size: stat.size,
      mtime: stat.mtime,
      etag: `"${download.sha256 ?? `${stat.size}-${stat.mtime.getTime()}`}"`,
      fileName: download.fileName ?? download.slug,
      mimeType: download.mimeType,
    };
    targets.set(download, { stat, target });
    return target;
  };
}

export type TargetLocator = ReturnType<typeof createTargetLocator>;
