/**
 * Admin pages for generated downloads, under /admin/downloads/generated: choose a kind, create
 * and edit one with the download form (its File section replaced by the kind's fields), and a
 * live preview — an image made from the form's current values, never cached and rate limited.
 * Editors and admins only (mounted behind requirePermission and CSRF, like the download pages).
 */
import { Router, type Request, type Response } from 'express';
import { ZodError } from 'zod';
import type { Config } from '../config.ts';
import type { CategoryService } from '../downloads/category-service.ts';
import { downloadFormValues } from '../downloads/download-admin-routes.ts';
import type { DownloadRecord } from '../downloads/download-repository.ts';
import { pickSent } from '../downloads/download-schemas.ts';
import type { DownloadService } from '../downloads/download-service.ts';
import { formatLabel } from '../downloads/labels.ts';
import { AppError, notFound } from '../errors.ts';
import { toAppError } from '../http/error-handler.ts';
import { flash } from '../http/flash.ts';
import { idParam } from '../http/params.ts';
import type { FileStore } from '../storage/file-store.ts';
import { acceptUploads } from '../storage/upload-middleware.ts';
import { PREVIEW_PREFIX, type GeneratedDownloadService } from './generated-download-service.ts';
import type { GeneratorKind } from './generator-registry.ts';

export const GENERATED_ADMIN_PATH = '/admin/downloads/generated';

export function generatedAdminRoutes(deps: {
  generated: GeneratedDownloadService;
  downloads: DownloadService;
  categories: CategoryService;
  files: FileStore;
  config: Config;
}): Router {
  const { generated, downloads, categories, files, config } = deps;
  const router = Router();
  const assetFields = [...new Set(generated.kinds().flatMap((kind) => (kind.asset ? [kind.asset.field] : [])))];
  // `file` is accepted only to be refused with a message (a generated download makes its own).
  const upload = acceptUploads(files, { maxFileBytes: config.uploads.maxBytes, fileFields: ['file', ...assetFields] });
  const wantsJson = (req: Request) => req.accepts(['html', 'json']) === 'json';

  async function renderForm(res: Response, kind: GeneratorKind<unknown>, download: DownloadRecord | undefined, values: Record<string, unknown>, error?: AppError) {
    res.status(error?.status ?? 200).render('admin/download-form', {
      title: download ? `Edit ${download.title}` : `New download: ${kind.label}`,
      download,
      values,
      error,
      categories: (await categories.tree()).ordered,
      labelsInUse: (await downloads.labelsInUse()).map(formatLabel),
      versions: [],
      oneMaxClasses: config.labels.oneMaxClasses,
      maxUpload: config.uploads.maxBytes,
      generator: {
        kind,
        action: download ? `${GENERATED_ADMIN_PATH}/${download.id}` : GENERATED_ADMIN_PATH,
        previewUrl: download ? `${GENERATED_ADMIN_PATH}/${download.id}/preview` : `${GENERATED_ADMIN_PATH}/preview`,
        previewPrefix: PREVIEW_PREFIX,
        hasAsset: !!download?.generator?.assetKey,
      },
    });
  }

  /** The download's values in the form's shapes, and the kind's settings. */
  const formValues = (d: DownloadRecord): Record<string, unknown> => ({
    ...downloadFormValues(d),
    ...(JSON.parse(d.generator!.settings) as Record<string, unknown>),
  });


  const initialValues = (kind: GeneratorKind<unknown>) => ({
    state: 'unpublished',
    visible: true,
    categoryIds: [],
    ...Object.fromEntries((kind.fields ?? []).map((field) => [field.name, field.initial ?? ''])),
  });

  /** The kind's fields as sent, over what the form showed before. */
  const sentSettings = (kind: GeneratorKind<unknown>, body: Record<string, unknown>) =>
    Object.fromEntries((kind.fields ?? []).filter((f) => Object.hasOwn(body, f.name)).map((f) => [f.name, body[f.name]]));

  /** Validation problems go back to the form (or the script) with the values as typed. */
  async function refuse(req: Request, res: Response, kind: GeneratorKind<unknown>, download: DownloadRecord | undefined, error: unknown) {
    const appError = toAppError(error);
    if (!(error instanceof AppError || error instanceof ZodError) || appError.status >= 500) throw error;
    if (wantsJson(req)) throw appError;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const values = { ...(download ? formValues(download) : initialValues(kind)), ...pickSent(body, true), ...sentSettings(kind, body) };
    await renderForm(res, kind, download, values, appError);
  }

  async function generatedDownload(id: string): Promise<DownloadRecord> {
    const download = await downloads.findById(idParam(id));
    if (!download?.generator) throw notFound('This generated download does not exist.');
    return download;
  }

  function sendPreview(res: Response, file: { data: Buffer; mimeType: string }) {
    res.set({ 'Content-Type': file.mimeType, 'Cache-Control': 'no-store', 'Content-Disposition': 'inline' }).send(file.data);
  }

  router.get('/new', async (req, res) => {
    if (typeof req.query.kind !== 'string' || !req.query.kind) {
      return res.render('admin/generated-kinds', { title: 'New generated download', kinds: generated.kinds() });
    }
    const kind = generated.kindNamed(req.query.kind);
    await renderForm(res, kind, undefined, initialValues(kind));
  });

  router.post('/', upload, async (req, res) => {
    const kind = generated.kindNamed(req.body?.kind);
    try {
      const created = await generated.create(pickSent(req.body, true), req.body, req.uploads, req.user);
      flash(req, 'success', `“${created.title}” was created.`);
      const target = `${GENERATED_ADMIN_PATH}/${created.id}`;
      if (wantsJson(req)) return res.status(201).json({ redirect: target, download: downloads.toJson(created) });
      res.redirect(303, target);
    } catch (error) {
      await refuse(req, res, kind, undefined, error);
    }
  });

  router.post('/preview', upload, async (req, res) => {
    sendPreview(res, await generated.preview(req.user!, req.body ?? {}, req.uploads));
  });

  router.get('/:id', async (req, res) => {
    const download = await generatedDownload(req.params.id as string);
    await renderForm(res, generated.kindOf(download), download, formValues(download));
  });

  router.post('/:id', upload, async (req, res) => {
    const download = await generatedDownload(req.params.id as string);
    const kind = generated.kindOf(download);
    try {
      const updated = await generated.update(download, pickSent(req.body, true), req.body, req.uploads);
      flash(req, 'success', `“${updated.title}” was saved.`);
      const target = `${GENERATED_ADMIN_PATH}/${updated.id}`;
      if (wantsJson(req)) return res.json({ redirect: target, download: downloads.toJson(updated) });
      res.redirect(303, target);
    } catch (error) {
      await refuse(req, res, kind, download, error);
    }
  });

  router.post('/:id/preview', upload, async (req, res) => {
    const download = await generatedDownload(req.params.id as string);
    sendPreview(res, await generated.preview(req.user!, req.body ?? {}, req.uploads, download));
  });

  return router;
}
