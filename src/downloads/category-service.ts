/**
 * Categories form a tree (a parent per category). Downloads have one primary category (where the
 * listing shows them) and any number of extra ones.
 */
import { z } from 'zod';
import { isUniqueViolation, type Db } from '../db.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import { cleanLine } from '../lib/text.ts';
import { firstFreeSlug, slugBase } from './slugs.ts';
import { SLUG_PATTERN } from './download-schemas.ts';

export interface CategoryNode {
  id: number;
  title: string;
  slug: string;
  parentId: number | null;
  position: number;
  depth: number;
  /** titles from the root down to this one */
  path: string[];
  children: CategoryNode[];
}

export const categoryInput = z.object({
  title: z.string().transform(cleanLine).pipe(z.string().min(1, 'Enter a title.').max(100, 'Category titles are at most 100 characters.')),
  slug: z
    .string()
    .transform((v) => v.trim().toLowerCase())
    .pipe(z.union([z.literal(''), z.string().max(100).regex(SLUG_PATTERN, 'Slugs use a-z, 0-9 and single hyphens.')]))
    .optional(),
  parentId: z
    .union([z.string(), z.number(), z.null()])
    .transform((v) => (v === '' || v === null ? null : Number(v)))
    .pipe(z.number().int().positive().nullable())
    .optional(),
  position: z
    .union([z.string(), z.number()])
    .transform((v) => (v === '' ? 0 : Number(v)))
    .pipe(z.number().int().min(-10_000, 'Position is a whole number.').max(10_000, 'Position is a whole number.'))
    .optional(),
});

export function createCategoryService(deps: { db: Db }) {
  const { db } = deps;

  async function all() {
    return db.category.findMany({ orderBy: [{ position: 'asc' }, { title: 'asc' }] });
  }

  /** Roots first, children under their parent, in position then title order. */
  async function tree(): Promise<{ roots: CategoryNode[]; ordered: CategoryNode[]; byId: Map<number, CategoryNode> }> {
    const rows = await all();
    const byId = new Map<number, CategoryNode>(rows.map((r) => [r.id, { ...r, depth: 0, path: [], children: [] }]));
    const roots: CategoryNode[] = [];
    for (const node of byId.values()) {
      const parent = node.parentId ? byId.get(node.parentId) : undefined;
      if (parent) parent.children.push(node);
      else roots.push(node);
    }
    const ordered: CategoryNode[] = [];
    const walk = (nodes: CategoryNode[], depth: number, path: string[]) => {
      for (const node of nodes) {
        node.depth = depth;
        node.path = [...path, node.title];
        ordered.push(node);
        walk(node.children, depth + 1, node.path);
      }
    };
    walk(roots, 0, []);
    return { roots, ordered, byId };
  }

  async function assertNoCycle(id: number, parentId: number | null) {
    const { byId } = await tree();
    for (let p = parentId; p; p = byId.get(p)?.parentId ?? null) {
      if (p === id) throw badRequest('A category cannot be inside itself or one of its subcategories.', { code: 'CATEGORY_CYCLE' });
    }
  }

  async function uniqueSlug(title: string, wanted?: string) {
    const base = wanted || slugBase(title, 'category');
    const taken = (await db.category.findMany({ where: { slug: { startsWith: base } }, select: { slug: true } })).map((c) => c.slug);
    if (wanted && taken.includes(wanted)) throw conflict(`The slug "${wanted}" is taken.`, { code: 'SLUG_TAKEN' });
    return firstFreeSlug(base, taken);
  }

  return {
    all,
    tree,

    async create(raw: unknown) {
      const input = categoryInput.parse(raw);
      if (input.parentId && !(await db.category.findUnique({ where: { id: input.parentId } }))) throw notFound('The parent category does not exist.');
      try {
        return await db.category.create({
          data: { title: input.title, slug: await uniqueSlug(input.title, input.slug), parentId: input.parentId ?? null, position: input.position ?? 0 },
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict('A category with this slug already exists.', { code: 'SLUG_TAKEN' });
        throw error;
      }
    },

    async update(id: number, raw: unknown) {
      const input = categoryInput.partial().parse(raw);
      const current = await db.category.findUnique({ where: { id } });
      if (!current) throw notFound('This category does not exist.');
      if (input.parentId !== undefined) await assertNoCycle(id, input.parentId);
      const slug = input.slug && input.slug !== current.slug ? await uniqueSlug(input.title ?? current.title, input.slug) : undefined;
      return db.category.update({
        where: { id },
        data: { title: input.title, slug, parentId: input.parentId, position: input.position },
      });
    },

    /** Downloads whose primary category each category is. */
    async downloadCounts(): Promise<Map<number, number>> {
      const rows = await db.download.groupBy({ by: ['primaryCategoryId'], _count: { _all: true } });
      return new Map(rows.filter((r) => r.primaryCategoryId !== null).map((r) => [r.primaryCategoryId!, r._count._all]));
    },

    async remove(id: number) {
      const { count } = await db.category.deleteMany({ where: { id } });
      if (count === 0) throw notFound('This category does not exist.');
    },

    /** By slug or exact title, creating a top-level category when there is none (CLI, API). */
    async findOrCreate(nameOrSlug: string) {
      const title = cleanLine(nameOrSlug);
      if (!title) return null;
      const found = await db.category.findFirst({ where: { OR: [{ slug: title.toLowerCase() }, { title }] } });
      if (found) return found;
      return this.create({ title });
    },
  };
}

export type CategoryService = ReturnType<typeof createCategoryService>;
