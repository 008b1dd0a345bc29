/**
 * Admin pages for downloads: the list (search, filters, sort, pages, bulk actions), the create
 * and edit form (a plain multipart form that JavaScript upgrades to an upload with a progress
 * bar), and delete. Editors and admins only (mounted behind requirePermission).
 */
import { Router, type Request, type Response } from 'express';
import { z, ZodError } from 'zod';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import { toAppError } from '../http/error-handler.ts';
import { flash } from '../http/flash.ts';
import { idParam } from '../http/params.ts';
import type { FileStore } from '../storage/file-store.ts';
import { acceptUploads } from '../storage/upload-middleware.ts';
import type { CategoryService } from './category-service.ts';
import type { AdminFilters, DownloadRecord } from './download-repository.ts';
import { pickSent } from './download-schemas.ts';
import type { DownloadService } from './download-service.ts';
import { formatLabel, parseLabel } from './labels.ts';

const ADMIN_PAGE_SIZE = 25;

const listQuery = z.object({
  q: z.string().trim().max(200).optional().catch(undefined),
  state: z.enum(['published', 'unpublished', 'scheduled', 'retracted']).optional().catch(undefined),
  category: z.string().regex(/^\d{1,9}$/).transform(Number).optional().catch(undefined),
  label: z.string().max(210).optional().catch(undefined),
  deprecated: z.enum(['1', '0']).optional().catch(undefined),
  sort: z.enum(['title', 'createdAt', 'updatedAt', 'downloadCount', 'size']).catch('updatedAt'),
  dir: z.enum(['asc', 'desc']).catch('desc'),
  page: z.string().regex(/^\d{1,6}$/).transform(Number).catch(1),
});

const bulkForm = z.object({
  action: z.enum(['publish', 'unpublish', 'delete'], { error: 'Choose what to do with the selected downloads.' }),
  ids: z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : [v]))
    .pipe(z.array(z.string().regex(/^\d{1,9}$/).transform(Number)).min(1, 'Select at least one download.').max(500)),
});

export function downloadAdminRoutes(deps: {
  downloads: DownloadService;
  categories: CategoryService;
  files: FileStore;
  config: Config;
}): Router {
  const { downloads, categories, files, config } = deps;
  const router = Router();
  const upload = acceptUploads(files, { maxFileBytes: config.uploads.maxBytes, fileFields: ['file'] });
  const wantsJson = (req: Request) => req.accepts(['html', 'json']) === 'json';

  async function renderForm(res: Response, download: DownloadRecord | undefined, values: Record<string, unknown>, error?: AppError) {
    const tree = await categories.tree();
    res.status(error?.status ?? 200).render('admin/download-form', {
      title: download ? `Edit ${download.title}` : 'New download',
      download,
      values,
      error,
      categories: tree.ordered,
      labelsInUse: (await downloads.labelsInUse()).map(formatLabel),
      versions: download ? await downloads.versionsOf(download.id) : [],
      oneMaxClasses: config.labels.oneMaxClasses,
      maxUpload: config.uploads.maxBytes,
    });
  }


  /** Validation problems go back to the form (or the script) with the values as typed. */
  async function refuse(req: Request, res: Response, download: DownloadRecord | undefined, error: unknown) {
    const appError = toAppError(error);
    if (!(error instanceof AppError || error instanceof ZodError) || appError.status >= 500) throw error;
    if (wantsJson(req)) throw appError;
    const values = { ...(download ? downloadFormValues(download) : {}), ...pickSent(req.body ?? {}, true) };
    await renderForm(res, download, values, appError);
  }

  router.get('/', async (req, res) => {
    const query = listQuery.parse(req.query);
    let label;
    try {
      label = query.label ? parseLabel(query.label) : undefined;
    } catch {
      label = undefined;
    }
    const filters: AdminFilters = {
      q: query.q || undefined,
      state: query.state,
      categoryId: query.category,
      label,
      deprecated: query.deprecated === undefined ? undefined : query.deprecated === '1',
      sort: query.sort,
      direction: query.dir,
      page: query.page,
      perPage: ADMIN_PAGE_SIZE,
    };
    const { total, items } = await downloads.listForAdmin(filters);
    res.render('admin/downloads', {
      title: 'Downloads',
      items,
      total,
      query,
      pages: Math.max(1, Math.ceil(total / ADMIN_PAGE_SIZE)),
      categories: (await categories.tree()).ordered,
      labelsInUse: (await downloads.labelsInUse()).map(formatLabel),
    });
  });

  router.get('/new', (_req, res) => renderForm(res, undefined, { state: 'unpublished', visible: true, categoryIds: [] }));

  router.post('/', upload, async (req, res) => {
    try {
      const file = req.uploads?.file;
      const created = await downloads.create(pickSent(req.body, true), file, req.user);
      flash(req, 'success', `“${created.title}” was created.`);
      if (wantsJson(req)) return res.status(201).json({ redirect: `/admin/downloads/${created.id}`, download: downloads.toJson(created) });
      res.redirect(303, `/admin/downloads/${created.id}`);
    } catch (error) {
      await refuse(req, res, undefined, error);
    }
  });

  router.post('/bulk', async (req, res) => {
    const form = bulkForm.safeParse(req.body);
    if (!form.success) {
      flash(req, 'error', form.error.issues[0]!.message);
      return res.redirect(303, '/admin/downloads');
    }
    const { action, ids } = form.data;
    const count = action === 'delete' ? await downloads.remove(ids) : await downloads.setState(ids, action === 'publish' ? 'published' : 'unpublished');
    flash(req, 'success', `${count} ${count === 1 ? 'download' : 'downloads'} ${action === 'delete' ? 'deleted' : `${action}ed`}.`);
    res.redirect(303, '/admin/downloads');
  });

  router.get('/:id', async (req, res) => {
    const download = await downloads.findById(idParam(req.params.id));
    if (!download) throw new AppError(404, 'This download does not exist.');
    // Generated downloads have their own form (src/generators/generated-admin-routes.ts).
    if (download.generator) return res.redirect(302, `/admin/downloads/generated/${download.id}`);
    await renderForm(res, download, downloadFormValues(download));
  });

  router.post('/:id', upload, async (req, res) => {
    const download = await downloads.findById(idParam(req.params.id));
    if (!download) throw new AppError(404, 'This download does not exist.');
    try {
      const updated = await downloads.update(download.id, pickSent(req.body, true), req.uploads?.file);
      flash(req, 'success', `“${updated.title}” was saved.`);
      if (wantsJson(req)) return res.json({ redirect: `/admin/downloads/${updated.id}`, download: downloads.toJson(updated) });
      res.redirect(303, `/admin/downloads/${updated.id}`);
    } catch (error) {
      await refuse(req, res, download, error);
    }
  });

  router.get('/:id/delete', async (req, res) => {
    const download = await downloads.findById(idParam(req.params.id));
    if (!download) throw new AppError(404, 'This download does not exist.');
    res.render('admin/download-delete', { title: `Delete ${download.title}`, download });
  });

  router.post('/:id/delete', async (req, res) => {
    const id = idParam(req.params.id);
    const count = await downloads.remove([id]);
    if (!count) throw new AppError(404, 'This download does not exist.');
    flash(req, 'success', 'The download and its files were deleted.');
    res.redirect(303, '/admin/downloads');
  });

  return router;
}

/** Form values for an existing download, in the shapes the form fields use. */
export function downloadFormValues(d: DownloadRecord): Record<string, unknown> {
  return {
    title: d.title,
    slug: d.slug,
    description: d.description,
    fileName: d.fileName ?? '',
    remoteUrl: d.remoteUrl ?? '',
    primaryCategoryId: d.primaryCategoryId ?? '',
    categoryIds: d.categories.map((c) => c.categoryId),
    labels: d.labels.map((l) => formatLabel(l.label)).join(', '),
    state: d.state,
    visible: d.visible,
    publishOn: d.publishOn?.toISOString().slice(0, 16) ?? '',
    retractOn: d.retractOn?.toISOString().slice(0, 16) ?? '',
    requiresToken: d.requiresToken,
    tokenMaxDownloads: d.tokenMaxDownloads ?? '',
    tokenValidityDays: d.tokenValidityDays ?? '',
    deprecated: d.deprecated,
    successorSlug: d.successor?.slug ?? '',
  };
}
