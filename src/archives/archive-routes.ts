/**
 * Entry points of the archive import: `POST /api/v1/archives` (API key) and the admin page
 * "Upload archive". The admin flow previews first by default: the uploaded ZIP waits in a
 * private staging folder (named in the session, never in the form) until "Import now" or
 * "Cancel", so nobody uploads a big archive twice.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Router, type Request, type Response } from 'express';
import { z, ZodError } from 'zod';
import type { Config } from '../config.ts';
import { AppError, gone, unprocessable } from '../errors.ts';
import { toAppError } from '../http/error-handler.ts';
import { flash } from '../http/flash.ts';
import type { CategoryService } from '../downloads/category-service.ts';
import type { FileStore } from '../storage/file-store.ts';
import { acceptUploads } from '../storage/upload-middleware.ts';
import type { ArchiveImporter, ImportOptions, ImportReport } from './archive-import.ts';

declare module 'express-session' {
  interface SessionData {
    /** The last archive report, and the archive of a preview waiting to be imported. */
    archive?: { report: ImportReport; fileName: string; pending?: { dir: string; options: PendingOptions } };
  }
}

type PendingOptions = Pick<ImportOptions, 'state' | 'category'>;

interface Deps {
  importer: ArchiveImporter;
  categories: CategoryService;
  files: FileStore;
  config: Config;
}

const flag = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) => {
    const last = Array.isArray(v) ? v.at(-1) : v;
    return last === undefined ? undefined : ['1', 'true', 'on', 'yes'].includes(last.toLowerCase());
  });

const apiQuery = z.object({ dryRun: flag });
const apiBody = z.object({
  dryRun: flag,
  state: z.enum(['published', 'unpublished'], { error: 'State is published or unpublished.' }).optional(),
  category: z.string().max(200).optional(),
});
const adminForm = z.object({ dryRun: flag, publish: flag, category: z.string().max(200).optional() });

const PENDING_FILE = 'archive.zip';

function uploadedArchive(req: Request) {
  const archive = req.uploads?.archive;
  if (!archive) throw unprocessable('Choose a ZIP archive to upload (form field "archive").', { code: 'ARCHIVE_MISSING' });
  return archive;
}

export function archiveApiRoutes(deps: Deps): Router {
  const { importer, files, config } = deps;
  const router = Router();
  const upload = acceptUploads(files, { maxFileBytes: config.uploads.maxBytes, fileFields: ['archive'] });
  router.post('/', upload, async (req, res) => {
    const query = apiQuery.parse(req.query);
    const { dryRun, ...body } = apiBody.parse(req.body ?? {});
    const report = await importer.importArchive(uploadedArchive(req).path, { ...body, dryRun: query.dryRun ?? dryRun, actor: req.user });
    res.json(report);
  });
  return router;
}

export function archiveAdminRoutes(deps: Deps): Router {
  const { importer, categories, files, config } = deps;
  const router = Router();
  const upload = acceptUploads(files, { maxFileBytes: config.uploads.maxBytes, fileFields: ['archive'] });
  const wantsJson = (req: Request) => req.accepts(['html', 'json']) === 'json';

  async function renderForm(res: Response, values: Record<string, unknown>, error?: AppError) {
    res.status(error?.status ?? 200).render('admin/archive-form', {
      title: 'Upload archive',
      values,
      error,
      categories: (await categories.tree()).ordered,
      maxUpload: config.uploads.maxBytes,
      limits: config.archives.limits,
    });
  }

  /** Where the result is shown: straight away for a plain form post, by redirect for the script. */
  function showResult(req: Request, res: Response, target: string) {
    if (wantsJson(req)) return res.json({ redirect: target });
    res.redirect(303, target);
  }

  async function dropPending(req: Request) {
    const pending = req.session.archive?.pending;
    if (pending) await files.discardStaging(pending.dir).catch(() => undefined);
    delete req.session.archive;
  }

  router.get('/', (req, res) => renderForm(res, { dryRun: true, publish: true, category: '' }));

  router.post('/', upload, async (req, res) => {
    const form = adminForm.safeParse(req.body ?? {});
    const values = form.success ? form.data : {};
    try {
      if (!form.success) throw form.error;
      const archive = uploadedArchive(req);
      const options: PendingOptions = { state: form.data.publish ? 'published' : 'unpublished', category: form.data.category || undefined };
      await dropPending(req);
      if (form.data.dryRun) {
        const report = await importer.importArchive(archive.path, { ...options, dryRun: true });
        // Kept out of the request's staging folder, which goes when the response ends.
        const dir = await files.createStaging();
        await fsp.rename(archive.path, path.join(dir, PENDING_FILE));
        req.session.archive = { report, fileName: archive.originalName, pending: { dir, options } };
        return showResult(req, res, '/admin/archives/preview');
      }
      const report = await importer.importArchive(archive.path, { ...options, actor: req.user });
      req.session.archive = { report, fileName: archive.originalName };
      return showResult(req, res, '/admin/archives/report');
    } catch (error) {
      const appError = toAppError(error);
      if (!(error instanceof AppError || error instanceof ZodError) || appError.status >= 500 || wantsJson(req)) throw appError;
      await renderForm(res, { ...values, category: req.body?.category ?? '' }, appError);
    }
  });

  router.get('/preview', (req, res) => {
    const archive = req.session.archive;
    if (!archive?.pending) return res.redirect(303, archive ? '/admin/archives/report' : '/admin/archives');
    res.render('admin/archive-report', { title: 'Archive preview', archive, preview: true });
  });

  router.post('/preview', async (req, res) => {
    const archive = req.session.archive;
    const pending = archive?.pending;
    if (!archive || !pending) return res.redirect(303, '/admin/archives');
    if (req.body?.action === 'cancel') {
      await dropPending(req);
      flash(req, 'success', 'The archive was discarded; nothing was imported.');
      return res.redirect(303, '/admin/archives');
    }
    const file = path.join(pending.dir, PENDING_FILE);
    if (!(await fsp.stat(file).catch(() => undefined))) {
      delete req.session.archive;
      throw gone('This preview has expired and its archive was removed. Upload the archive again.', { code: 'PREVIEW_EXPIRED' });
    }
    try {
      const report = await importer.importArchive(file, { ...pending.options, actor: req.user });
      await dropPending(req);
      req.session.archive = { report, fileName: archive.fileName };
      res.redirect(303, '/admin/archives/report');
    } catch (error) {
      // The database may have changed since the preview; show why, keep the archive for a retry.
      const appError = toAppError(error);
      if (appError.status >= 500) throw error;
      res.status(appError.status).render('admin/archive-report', { title: 'Archive preview', archive, preview: true, error: appError });
    }
  });

  router.get('/report', (req, res) => {
    const archive = req.session.archive;
    if (!archive || archive.pending) return res.redirect(303, archive ? '/admin/archives/preview' : '/admin/archives');
    res.render('admin/archive-report', { title: 'Archive imported', archive, preview: false });
  });

  return router;
}
