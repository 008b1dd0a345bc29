/**
 * Tokens in the admin (a Tokens tab per download: issue, list, revoke, extend, reset) and in the
 * JSON API. A new token's link is shown in the response that issued it and never again.
 */
import { Router, type Request, type Response } from 'express';
import { z, ZodError } from 'zod';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { DownloadService } from '../downloads/download-service.ts';
import { publicBase } from '../downloads/download-public-routes.ts';
import { AppError } from '../errors.ts';
import { toAppError } from '../http/error-handler.ts';
import { flash } from '../http/flash.ts';
import { idParam } from '../http/params.ts';
import { tokenStatus, type TokenService } from './token-service.ts';

type TokenRow = Awaited<ReturnType<TokenService['listFor']>>[number];

const linkFor = (req: Request, config: Pick<Config, 'server'>, slug: string, secret: string) =>
  `${publicBase(req, config)}/downloads/${slug}/file?token=${secret}`;

function tokenJson(token: TokenRow, now: Date) {
  return {
    id: token.id,
    last4: token.last4,
    maxDownloads: token.maxDownloads,
    validityDays: token.validityDays,
    expiresAt: token.expiresAt?.toISOString() ?? null,
    validUntil: token.validUntil?.toISOString() ?? null,
    uses: token.uses,
    usesLeft: token.maxDownloads > 0 ? Math.max(0, token.maxDownloads - token.uses) : null,
    firstUsedAt: token.firstUsedAt?.toISOString() ?? null,
    lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
    revokedAt: token.revokedAt?.toISOString() ?? null,
    note: token.note,
    status: tokenStatus(token, now),
    createdAt: token.createdAt.toISOString(),
  };
}

const extendForm = z.object({
  addUses: z.coerce.number().int().min(0).max(1_000_000).optional().catch(undefined),
  addDays: z.coerce.number().int().min(0).max(100_000).optional().catch(undefined),
  expiresAt: z.string().optional(),
});

export function tokenAdminRoutes(deps: { tokens: TokenService; downloads: DownloadService; clock: Clock; config: Config }): Router {
  const { tokens, downloads, clock, config } = deps;
  const router = Router({ mergeParams: true });

  async function download(req: Request) {
    const found = await downloads.findById(idParam((req.params as Record<string, string>).id));
    if (!found) throw new AppError(404, 'This download does not exist.');
    return found;
  }

  async function render(req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200) {
    const d = await download(req);
    const now = clock.now();
    res.status(status).render('admin/tokens', {
      title: `Tokens · ${d.title}`,
      download: d,
      tokens: (await tokens.listFor(d.id)).map((t) => tokenJson(t, now)),
      issued: [],
      error: undefined,
      defaults: {
        maxDownloads: d.tokenMaxDownloads ?? config.tokens.maxDownloads,
        validityDays: d.tokenValidityDays ?? config.tokens.validityDays,
      },
      ...extra,
    });
  }

  const attempt = async (req: Request, res: Response, work: () => Promise<string>) => {
    try {
      flash(req, 'success', await work());
    } catch (error) {
      if (!(error instanceof AppError || error instanceof ZodError)) throw error;
      flash(req, 'error', toAppError(error).message);
    }
    res.redirect(303, `/admin/downloads/${(req.params as Record<string, string>).id}/tokens`);
  };

  router.get('/', (req, res) => render(req, res));

  router.post('/', async (req, res) => {
    const d = await download(req);
    try {
      const body = req.body as Record<string, string>;
      const issued = await tokens.issue(
        d.id,
        {
          count: body.count || undefined,
          maxDownloads: body.maxDownloads === '' ? undefined : body.maxDownloads,
          validityDays: body.validityDays === '' ? undefined : body.validityDays,
          expiresAt: body.expiresAt || null,
          note: body.note,
        } as never,
        req.user!.id,
      );
      // Rendered, not redirected: the links must not pass through the session store.
      await render(req, res, { issued: issued.map(({ row, secret }) => ({ id: row.id, link: linkFor(req, config, d.slug, secret) })) }, 201);
    } catch (error) {
      if (!(error instanceof AppError || error instanceof ZodError)) throw error;
      const appError = toAppError(error);
      await render(req, res, { error: appError.message }, appError.status);
    }
  });

  router.post('/:tokenId/revoke', (req, res) =>
    attempt(req, res, async () => {
      await tokens.revoke(idParam(req.params.tokenId), idParam((req.params as Record<string, string>).id));
      return 'The token was revoked: its link no longer works.';
    }),
  );

  router.post('/:tokenId/extend', (req, res) =>
    attempt(req, res, async () => {
      const form = extendForm.parse(req.body);
      const expiresAt = form.expiresAt ? new Date(/Z|[+-]\d\d:?\d\d$/.test(form.expiresAt) ? form.expiresAt : `${form.expiresAt}Z`) : undefined;
      if (expiresAt && Number.isNaN(expiresAt.getTime())) throw new AppError(422, 'The expiry must be a date like 2026-05-01T10:00 (UTC).');
      await tokens.extend(idParam(req.params.tokenId), idParam((req.params as Record<string, string>).id), { addUses: form.addUses, addDays: form.addDays, expiresAt });
      return 'The token was extended.';
    }),
  );

  router.post('/:tokenId/reset', (req, res) =>
    attempt(req, res, async () => {
      await tokens.reset(idParam(req.params.tokenId), idParam((req.params as Record<string, string>).id));
      return 'The token was reset: no uses, validity not started.';
    }),
  );

  return router;
}

export function tokenApiRoutes(deps: { tokens: TokenService; downloads: DownloadService; clock: Clock; config: Config }): Router {
  const { tokens, downloads, clock, config } = deps;
  const router = Router();

  router.post('/downloads/:slug/tokens', async (req, res) => {
    const d = await downloads.requireBySlug(req.params.slug);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const [issued] = await tokens.issue(d.id, { maxDownloads: body.maxDownloads, validityDays: body.validityDays, expiresAt: body.expiresAt, note: body.note } as never, req.user!.id);
    const { row, secret } = issued!;
    res.status(201).json({
      id: row.id,
      token: secret,
      url: linkFor(req, config, d.slug, secret),
      maxDownloads: row.maxDownloads,
      validityDays: row.validityDays,
      expiresAt: row.expiresAt?.toISOString() ?? null,
    });
  });

  router.get('/downloads/:slug/tokens', async (req, res) => {
    const d = await downloads.requireBySlug(req.params.slug);
    const now = clock.now();
    res.json({ items: (await tokens.listFor(d.id)).map((t) => tokenJson(t, now)) });
  });

  router.delete('/tokens/:id', async (req, res) => {
    await tokens.revoke(idParam((req.params as Record<string, string>).id));
    res.status(204).end();
  });

  return router;
}
