/**
 * What the rollups need to know about a download at the moment one of its events is written:
 * its categories, labels, artifact type, slug and title. The batch writer runs synchronously
 * inside its transaction, so the facts live in memory: loaded at start, reloaded for one
 * download when this instance changes it (download.* bus events), reloaded whole once a minute
 * for changes made by other instances, and loaded before the transaction for a download the
 * cache has never seen (one created on another instance a moment ago).
 */
import type { Db } from '../db.ts';
import { formatLabel } from '../downloads/labels.ts';
import type { Logger } from '../log.ts';
import { classifyArtifact, type ArtifactType } from './artifact-types.ts';

export interface DownloadFacts {
  slug: string;
  title: string;
  /** primary category first, then the extra ones, without repeats */
  categoryIds: number[];
  labels: string[];
  type: ArtifactType;
}

const select = {
  id: true,
  slug: true,
  title: true,
  fileName: true,
  primaryCategoryId: true,
  categories: { select: { categoryId: true } },
  labels: { select: { label: { select: { class: true, name: true } } } },
} as const;

type Row = {
  id: number;
  slug: string;
  title: string;
  fileName: string | null;
  primaryCategoryId: number | null;
  categories: { categoryId: number }[];
  labels: { label: { class: string; name: string } }[];
};

function toFacts(row: Row): DownloadFacts {
  const categoryIds = [...new Set([row.primaryCategoryId, ...row.categories.map((c) => c.categoryId)].filter((id): id is number => id !== null))];
  return {
    slug: row.slug,
    title: row.title,
    categoryIds,
    labels: row.labels.map((l) => formatLabel(l.label)).sort(),
    type: classifyArtifact(row.fileName),
  };
}

export interface DownloadFactsCache {
  /** Loads every download (start-up). */
  load(): Promise<void>;
  /** Reloads one download after a change made here. */
  refresh(id: number): Promise<void>;
  forget(id: number): void;
  /** Before a batch: loads unknown downloads, and starts a background reload when stale. */
  ensure(downloadIds: Iterable<number | null>): Promise<void> | undefined;
  get(id: number): DownloadFacts | undefined;
}

export function createDownloadFactsCache(deps: { db: Db; log: Logger; maxAgeMs?: number }): DownloadFactsCache {
  const { db, log, maxAgeMs = 60_000 } = deps;
  let facts = new Map<number, DownloadFacts>();
  let loadedAt = 0;
  let reloading: Promise<void> | undefined;
  /** ids asked for that do not exist, so a stream of events for a deleted id costs one query */
  const missing = new Set<number>();
  let queued: Set<number> | undefined;
  let flush: Promise<void> | undefined;

  async function load() {
    const started = Date.now();
    const rows = await db.download.findMany({ select });
    facts = new Map(rows.map((r) => [r.id, toFacts(r)]));
    missing.clear();
    loadedAt = started;
  }

  async function loadSome(ids: number[]) {
    const rows = await db.download.findMany({ where: { id: { in: ids } }, select });
    for (const r of rows) facts.set(r.id, toFacts(r));
    for (const id of ids) if (!facts.has(id)) missing.add(id);
  }

  return {
    load,
    refresh(id) {
      missing.delete(id);
      // An archive import changes a thousand downloads in one go: their refreshes, asked for in
      // the same turn of the event loop, become one query per 500 instead of one each.
      if (!queued) {
        const batch = (queued = new Set());
        flush = new Promise((resolve) => setImmediate(resolve)).then(async () => {
          queued = undefined;
          const ids = [...batch];
          for (let i = 0; i < ids.length; i += 500) await loadSome(ids.slice(i, i + 500));
        });
      }
      queued.add(id);
      return flush!;
    },
    forget(id) {
      facts.delete(id);
    },
    ensure(downloadIds) {
      if (Date.now() - loadedAt > maxAgeMs && !reloading) {
        reloading = load()
          .catch((error) => log.warn({ err: error }, 'reloading download facts failed'))
          .finally(() => (reloading = undefined));
      }
      let unknown: number[] | undefined;
      for (const id of downloadIds) {
        if (id !== null && !facts.has(id) && !missing.has(id)) (unknown ??= []).push(id);
      }
      return unknown ? loadSome([...new Set(unknown)]) : undefined;
    },
    get: (id) => facts.get(id),
  };
}
