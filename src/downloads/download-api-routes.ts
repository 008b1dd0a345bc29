/**
 * The JSON API for downloads (CONTRACT.md): create (multipart), list, get, patch (JSON, or
 * multipart to replace the file), delete. Authenticated by API key; errors are
 * `{"error":{"code","message"}}`.
 */
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { AppError, badRequest } from '../errors.ts';
import type { FileStore } from '../storage/file-store.ts';
import { acceptUploads } from '../storage/upload-middleware.ts';
import type { CategoryService } from './category-service.ts';
import { pickSent } from './download-schemas.ts';
import { toDownloadJson } from './download-json.ts';
import type { DownloadService } from './download-service.ts';
import { LabelError, parseLabel } from './labels.ts';
import { publicBase } from './download-public-routes.ts';
import type { GeneratedDownloadService } from '../generators/generated-download-service.ts';

const listQuery = z.object({
  q: z.string().trim().max(200).optional(),
  state: z.enum(['published', 'unpublished', 'scheduled', 'retracted']).optional(),
  label: z.string().max(210).optional(),
  category: z.string().max(100).optional(),
  deprecated: z.enum(['1', '0', 'true', 'false']).optional(),
  sort: z.enum(['title', 'createdAt', 'updatedAt', 'downloadCount', 'size']).default('createdAt'),
  dir: z.enum(['asc', 'desc']).default('desc'),
  page: z.string().regex(/^\d{1,6}$/, 'page is a positive number').transform(Number).default(1),
  perPage: z.string().regex(/^\d{1,3}$/, 'perPage is 1 to 100').transform(Number).pipe(z.number().min(1).max(100)).default(50),
});

export function downloadApiRoutes(deps: {
  downloads: DownloadService;
  categories: CategoryService;
  files: FileStore;
  config: Config;
  generated: GeneratedDownloadService;
}): Router {
  const { downloads, categories, files, config, generated } = deps;
  const router = Router();
  // Generated kinds take their input file (e.g. `background`) in a field of their own.
  const assetFields = generated.kinds().flatMap((kind) => (kind.asset ? [kind.asset.field] : []));
  const upload = acceptUploads(files, { maxFileBytes: config.uploads.maxBytes, fileFields: ['file', ...new Set(assetFields)] });
  const json = (req: Request, d: Parameters<typeof toDownloadJson>[0]) => toDownloadJson(d, publicBase(req, config));

  /** The contract's `category` (a name or slug; created when new) becomes the primary category. */
  async function withCategory(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const sent = pickSent(body, false);
    if (typeof body.category === 'string' && body.category.trim()) {
      const category = await categories.findOrCreate(body.category);
      if (category) sent.primaryCategoryId = category.id;
    }
    return sent;
  }

  router.post('/', upload, async (req, res) => {
    const created = generated.isGeneratedRequest(req.body)
      ? await generated.create(await withCategory(req.body), req.body, req.uploads, req.user)
      : await downloads.create(await withCategory(req.body), req.uploads?.file, req.user);
    res.status(201).location(`/api/v1/downloads/${created.slug}`).json(json(req, created));
  });

  router.get('/', async (req, res) => {
    const query = listQuery.parse(req.query);
    let label;
    try {
      label = query.label ? parseLabel(query.label) : undefined;
    } catch (error) {
      if (error instanceof LabelError) throw badRequest(error.message, { code: 'LABEL_INVALID' });
      throw error;
    }
    const category = query.category ? (await categories.all()).find((c) => c.slug === query.category || c.title === query.category) : undefined;
    if (query.category && !category) return res.json({ items: [], page: query.page, perPage: query.perPage, total: 0 });
    const { total, items } = await downloads.listForAdmin({
      q: query.q,
      state: query.state,
      label,
      categoryId: category?.id,
      deprecated: query.deprecated === undefined ? undefined : query.deprecated === '1' || query.deprecated === 'true',
      sort: query.sort,
      direction: query.dir,
      page: query.page,
      perPage: query.perPage,
    });
    res.json({ items: items.map((d) => json(req, d)), page: query.page, perPage: query.perPage, total });
  });

  router.get('/:slug', async (req, res) => {
    res.json(json(req, await downloads.requireBySlug(req.params.slug)));
  });

  router.patch('/:slug', async (req, res, next) => {
    // JSON changes fields; multipart may also carry a new file.
    if (req.is('multipart/form-data')) return upload(req, res, next);
    if (!req.is('application/json')) throw new AppError(415, 'Send the changes as JSON or multipart/form-data.', { code: 'UNSUPPORTED_MEDIA_TYPE' });
    next();
  }, async (req, res) => {
    const current = await downloads.requireBySlug(req.params.slug);
    const updated = current.generator
      ? await generated.update(current, await withCategory(req.body ?? {}), req.body ?? {}, req.uploads)
      : await downloads.update(current.id, await withCategory(req.body ?? {}), req.uploads?.file);
    res.json(json(req, updated));
  });

  router.delete('/:slug', async (req, res) => {
    const current = await downloads.requireBySlug(req.params.slug);
    await downloads.remove([current.id]);
    res.status(204).end();
  });

  return router;
}
