/** The download as the JSON API and webhooks show it (CONTRACT.md). */
import { formatLabel } from './labels.ts';
import type { DownloadRecord } from './download-repository.ts';

export interface DownloadJson {
  id: number;
  slug: string;
  title: string;
  description: string;
  kind: string;
  fileName: string | null;
  size: number | null;
  sha256: string | null;
  mimeType: string | null;
  remoteUrl: string | null;
  downloadCount: number;
  fileDownloadCount: number;
  labels: string[];
  primaryCategory: { slug: string; title: string } | null;
  categories: { slug: string; title: string }[];
  state: string;
  visible: boolean;
  publishOn: string | null;
  retractOn: string | null;
  requiresToken: boolean;
  deprecated: boolean;
  successor: string | null;
  createdAt: string;
  updatedAt: string;
  url: string;
  fileUrl: string;
  /** A generated download's kind and settings (README "Generated downloads"); null for the others. */
  generator: { kind: string; settings: unknown } | null;
}

/** `base` is PUBLIC_URL or the request's own origin; '' gives site-relative URLs. */
export function toDownloadJson(d: DownloadRecord, base = ''): DownloadJson {
  const page = `${base}/downloads/${d.slug}`;
  return {
    id: d.id,
    slug: d.slug,
    title: d.title,
    description: d.description,
    kind: d.kind,
    fileName: d.fileName,
    size: d.size === null ? null : Number(d.size),
    sha256: d.sha256,
    mimeType: d.mimeType,
    remoteUrl: d.remoteUrl,
    downloadCount: Number(d.downloadCount),
    fileDownloadCount: Number(d.fileDownloadCount),
    labels: d.labels.map((l) => formatLabel(l.label)),
    primaryCategory: d.primaryCategory ? { slug: d.primaryCategory.slug, title: d.primaryCategory.title } : null,
    categories: d.categories.map((c) => ({ slug: c.category.slug, title: c.category.title })),
    state: d.state,
    visible: d.visible,
    publishOn: d.publishOn?.toISOString() ?? null,
    retractOn: d.retractOn?.toISOString() ?? null,
    requiresToken: d.requiresToken,
    deprecated: d.deprecated,
    successor: d.successor?.slug ?? null,
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
    url: page,
    fileUrl: `${page}/file`,
    generator: d.generator ? { kind: d.generator.kind, settings: JSON.parse(d.generator.settings) as unknown } : null,
  };
}
