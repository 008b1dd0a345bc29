import type { DownloadResolver, ServableDownload } from './download-resolver.ts';

const MAX_HOPS = 20;

/**
 * /downloads/:slug/latest: the end of the successor chain (deprecated → its successor → …),
 * stopping at a successor the visitor may not see, at a loop, or after 20 hops.
 */
export async function followSuccessors(
  resolver: DownloadResolver,
  slugOfId: (id: number) => Promise<string | undefined>,
  slug: string,
  canManage: boolean,
): Promise<ServableDownload> {
  let current = await resolver.resolve(slug, canManage);
  const seen = new Set([current.id]);
  for (let hop = 0; hop < MAX_HOPS && current.successorId !== null && !seen.has(current.successorId); hop++) {
    const nextSlug = await slugOfId(current.successorId);
    const next = nextSlug ? await Promise.resolve().then(() => resolver.resolve(nextSlug, canManage)).catch(() => undefined) : undefined;
    if (!next) break;
    current = next;
    seen.add(current.id);
  }
  return current;
}
