/**
 * Every query on downloads, their labels, categories and file history. Services call these with
 * the Prisma client or a transaction client; nothing else here decides anything.
 */
import type { Db, Tx } from '../db.ts';
import type { Prisma } from '../db.ts';
import type { LabelParts } from './labels.ts';

export type Client = Db | Tx;

export const downloadInclude = {
  labels: { include: { label: true }, orderBy: [{ label: { class: 'asc' } }, { label: { name: 'asc' } }] },
  categories: { include: { category: true }, orderBy: { category: { title: 'asc' } } },
  primaryCategory: true,
  successor: { select: { id: true, slug: true, title: true } },
  generator: true,
} satisfies Prisma.DownloadInclude;

export type DownloadRecord = Prisma.DownloadGetPayload<{ include: typeof downloadInclude }>;

export interface AdminFilters {
  q?: string;
  state?: 'published' | 'unpublished' | 'scheduled' | 'retracted';
  categoryId?: number;
  label?: LabelParts;
  deprecated?: boolean;
  sort: 'title' | 'createdAt' | 'updatedAt' | 'downloadCount' | 'size';
  direction: 'asc' | 'desc';
  page: number;
  perPage: number;
}

export function createDownloadRepository(db: Db, kind: 'sqlite' | 'postgresql') {
  // SQLite's LIKE ignores ASCII case already; PostgreSQL needs ILIKE (Prisma's insensitive mode).
  const contains = (value: string) =>
    kind === 'postgresql' ? { contains: value, mode: 'insensitive' as never } : { contains: value };

  function searchWhere(q: string | undefined): Prisma.DownloadWhereInput {
    if (!q) return {};
    return { OR: [{ title: contains(q) }, { description: contains(q) }, { fileName: contains(q) }, { slug: contains(q) }] };
  }

  function labelWhere(label: LabelParts | undefined): Prisma.DownloadWhereInput {
    return label ? { labels: { some: { label: { class: label.class, name: label.name } } } } : {};
  }

  /** Published, inside its publishing window, at `now`. */
  function liveWhere(now: Date): Prisma.DownloadWhereInput {
    return {
      state: 'published',
      AND: [{ OR: [{ publishOn: null }, { publishOn: { lte: now } }] }, { OR: [{ retractOn: null }, { retractOn: { gt: now } }] }],
    };
  }

  return {
    searchWhere,
    labelWhere,
    liveWhere,

    /** The columns the serve handler needs, in one query. */
    findServableBySlug: (slug: string) =>
      db.download.findUnique({
        where: { slug },
        select: {
          id: true,
          slug: true,
          title: true,
          kind: true,
          fileKey: true,
          fileName: true,
          mimeType: true,
          size: true,
          sha256: true,
          remoteUrl: true,
          state: true,
          publishOn: true,
          retractOn: true,
          requiresToken: true,
          tokenMaxDownloads: true,
          tokenValidityDays: true,
          successorId: true,
          createdAt: true,
          fileUpdatedAt: true,
          generator: { select: { kind: true, settings: true, assetKey: true, assetSha256: true } },
        },
      }),

    slugOfId: async (id: number) => (await db.download.findUnique({ where: { id }, select: { slug: true } }))?.slug,

    findById: (id: number, client: Client = db) => client.download.findUnique({ where: { id }, include: downloadInclude }),
    findBySlug: (slug: string, client: Client = db) => client.download.findUnique({ where: { slug }, include: downloadInclude }),
    findManyByIds: (ids: number[], client: Client = db) =>
      client.download.findMany({ where: { id: { in: ids } }, include: downloadInclude }),

    slugsStartingWith: async (base: string, client: Client = db) =>
      (await client.download.findMany({ where: { slug: { startsWith: base } }, select: { slug: true } })).map((d) => d.slug),

    async listForAdmin(filters: AdminFilters, now: Date) {
      const where: Prisma.DownloadWhereInput = {
        AND: [
          searchWhere(filters.q),
          labelWhere(filters.label),
          filters.categoryId
            ? { OR: [{ primaryCategoryId: filters.categoryId }, { categories: { some: { categoryId: filters.categoryId } } }] }
            : {},
          filters.deprecated === undefined ? {} : { deprecated: filters.deprecated },
          filters.state === 'published' ? liveWhere(now) : {},
          filters.state === 'unpublished' ? { state: 'unpublished' } : {},
          filters.state === 'scheduled' ? { state: 'published', publishOn: { gt: now } } : {},
          filters.state === 'retracted' ? { state: 'published', retractOn: { lte: now } } : {},
        ],
      };
      const [total, items] = await Promise.all([
        db.download.count({ where }),
        db.download.findMany({
          where,
          include: downloadInclude,
          orderBy: [{ [filters.sort]: filters.direction }, { id: 'desc' }],
          skip: (filters.page - 1) * filters.perPage,
          take: filters.perPage,
        }),
      ]);
      return { total, items };
    },

    /** Light rows of everything the public listing would show, for grouping and paging in memory. */
    listLiveSkeleton: (where: Prisma.DownloadWhereInput) =>
      db.download.findMany({ where, select: { id: true, title: true, primaryCategoryId: true } }),

    countDeprecatedLive: (now: Date) => db.download.count({ where: { ...liveWhere(now), visible: true, deprecated: true } }),

    newestLive: (now: Date, take: number) =>
      db.download.findMany({ where: { ...liveWhere(now), visible: true }, include: downloadInclude, orderBy: { createdAt: 'desc' }, take }),

    async setLabels(client: Client, downloadId: number, labels: LabelParts[]) {
      await client.downloadLabel.deleteMany({ where: { downloadId } });
      for (const label of labels) {
        const row = await client.label.upsert({
          where: { class_name: { class: label.class, name: label.name } },
          update: {},
          create: { class: label.class, name: label.name },
        });
        await client.downloadLabel.create({ data: { downloadId, labelId: row.id } });
      }
    },

    async addLabel(client: Client, downloadId: number, label: LabelParts) {
      const row = await client.label.upsert({
        where: { class_name: { class: label.class, name: label.name } },
        update: {},
        create: { class: label.class, name: label.name },
      });
      await client.downloadLabel.upsert({
        where: { downloadId_labelId: { downloadId, labelId: row.id } },
        update: {},
        create: { downloadId, labelId: row.id },
      });
    },

    async setCategories(client: Client, downloadId: number, categoryIds: number[]) {
      await client.downloadCategory.deleteMany({ where: { downloadId } });
      if (categoryIds.length) {
        await client.downloadCategory.createMany({ data: categoryIds.map((categoryId) => ({ downloadId, categoryId })) });
      }
    },

    /** Every storage key a download owns: its current file, its generator asset, its old versions. */
    async fileKeysOf(client: Client, ids: number[]): Promise<string[]> {
      const [downloads, versions, generators] = await Promise.all([
        client.download.findMany({ where: { id: { in: ids } }, select: { fileKey: true } }),
        client.fileVersion.findMany({ where: { downloadId: { in: ids } }, select: { fileKey: true } }),
        client.generatorSettings.findMany({ where: { downloadId: { in: ids } }, select: { assetKey: true } }),
      ]);
      return [...downloads.map((d) => d.fileKey), ...versions.map((v) => v.fileKey), ...generators.map((g) => g.assetKey)].filter(
        (k): k is string => !!k,
      );
    },

    labelsInUse: () =>
      db.label.findMany({ where: { downloads: { some: {} } }, orderBy: [{ class: 'asc' }, { name: 'asc' }] }),

    versionsOf: (downloadId: number) =>
      db.fileVersion.findMany({ where: { downloadId }, orderBy: { replacedAt: 'desc' } }),
  };
}

export type DownloadRepository = ReturnType<typeof createDownloadRepository>;
