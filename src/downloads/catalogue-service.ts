/**
 * The public read side: what visitors may see, grouped the way jmbo-downloads grouped it (by
 * primary category, nested, with the number of downloads in each branch, uncategorised last).
 */
import type { Clock } from '../clock.ts';
import { notFound } from '../errors.ts';
import type { Prisma } from '../db.ts';
import type { CategoryNode, CategoryService } from './category-service.ts';
import type { DownloadRecord, DownloadRepository } from './download-repository.ts';
import type { LabelParts } from './labels.ts';

export const PUBLIC_PAGE_SIZE = 20;

export interface CategoryGroup {
  category: Pick<CategoryNode, 'id' | 'title' | 'slug' | 'depth'>;
  /** downloads in this category and all its subcategories (whole result, not just this page) */
  count: number;
  items: DownloadRecord[];
  children: CategoryGroup[];
}

export interface CataloguePage {
  groups: CategoryGroup[];
  uncategorised: { count: number; items: DownloadRecord[] };
  total: number;
  page: number;
  pages: number;
  deprecatedCount: number;
}

export interface CatalogueQuery {
  q?: string;
  label?: LabelParts;
  deprecated?: boolean;
  page?: number;
}

type Live = Pick<DownloadRecord, 'state' | 'publishOn' | 'retractOn'>;

export function isLive(d: Live, now: Date): boolean {
  return d.state === 'published' && (!d.publishOn || d.publishOn <= now) && (!d.retractOn || d.retractOn > now);
}

export function createCatalogueService(deps: { repo: DownloadRepository; categories: CategoryService; clock: Clock }) {
  const { repo, categories, clock } = deps;

  return {
    isLive: (d: Live) => isLive(d, clock.now()),

    async page(query: CatalogueQuery): Promise<CataloguePage> {
      const now = clock.now();
      const where: Prisma.DownloadWhereInput = {
        AND: [repo.liveWhere(now), { visible: true, deprecated: query.deprecated ?? false }, repo.searchWhere(query.q), repo.labelWhere(query.label)],
      };
      const [rows, tree, deprecatedCount] = await Promise.all([repo.listLiveSkeleton(where), categories.tree(), repo.countDeprecatedLive(now)]);
      const order = new Map(tree.ordered.map((node, i) => [node.id, i]));
      const categoryOf = (id: number | null) => (id !== null && tree.byId.has(id) ? id : null);
      rows.sort(
        (a, b) =>
          (order.get(categoryOf(a.primaryCategoryId) ?? -1) ?? Infinity) - (order.get(categoryOf(b.primaryCategoryId) ?? -1) ?? Infinity) ||
          a.title.localeCompare(b.title, undefined, { sensitivity: 'base' }) ||
          a.id - b.id,
      );

      const branchCounts = new Map<number, number>();
      let uncategorisedCount = 0;
      for (const row of rows) {
        const id = categoryOf(row.primaryCategoryId);
        if (id === null) uncategorisedCount++;
        for (let c: number | null = id; c !== null; c = tree.byId.get(c)?.parentId ?? null) branchCounts.set(c, (branchCounts.get(c) ?? 0) + 1);
      }

      const pages = Math.max(1, Math.ceil(rows.length / PUBLIC_PAGE_SIZE));
      const page = Math.min(Math.max(1, query.page ?? 1), pages);
      const slice = rows.slice((page - 1) * PUBLIC_PAGE_SIZE, page * PUBLIC_PAGE_SIZE);
      const full = new Map((await repo.findManyByIds(slice.map((r) => r.id))).map((d) => [d.id, d]));
      const items = slice.map((r) => full.get(r.id)!).filter(Boolean);

      const itemsByCategory = new Map<number | null, DownloadRecord[]>();
      for (const item of items) {
        const id = categoryOf(item.primaryCategoryId);
        itemsByCategory.set(id, [...(itemsByCategory.get(id) ?? []), item]);
      }
      const build = (nodes: CategoryNode[]): CategoryGroup[] =>
        nodes
          .map((node) => ({
            category: { id: node.id, title: node.title, slug: node.slug, depth: node.depth },
            count: branchCounts.get(node.id) ?? 0,
            items: itemsByCategory.get(node.id) ?? [],
            children: build(node.children),
          }))
          .filter((g) => g.items.length > 0 || g.children.length > 0);

      return {
        groups: build(tree.roots),
        uncategorised: { count: uncategorisedCount, items: itemsByCategory.get(null) ?? [] },
        total: rows.length,
        page,
        pages,
        deprecatedCount,
      };
    },

    /** A download's page: live ones for everybody, any for people who manage downloads. */
    async findForViewer(slug: string, canManage: boolean): Promise<DownloadRecord> {
      const download = await repo.findBySlug(slug);
      if (!download || (!canManage && !isLive(download, clock.now()))) throw notFound('There is no download at this address.');
      return download;
    },

    newest: (take = 50) => repo.newestLive(clock.now(), take),
  };
}

export type CatalogueService = ReturnType<typeof createCatalogueService>;
