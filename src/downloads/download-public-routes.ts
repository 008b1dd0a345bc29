/** Public pages: the listing, a download's page, and the Atom feed. */
import { Router, type Request } from 'express';
import { Feed } from 'feed';
import { can } from '../auth/roles.ts';
import type { Config } from '../config.ts';
import { badRequest } from '../errors.ts';
import { renderMarkdown } from './markdown.ts';
import type { CatalogueService } from './catalogue-service.ts';
import { LabelError, formatLabel, parseLabel } from './labels.ts';
import type { DownloadService } from './download-service.ts';

export function publicBase(req: Request, config: Pick<Config, 'server'>): string {
  return config.server.baseUrl ?? `${req.protocol}://${req.get('host')}`;
}

function pageNumber(value: unknown): number {
  return typeof value === 'string' && /^\d{1,6}$/.test(value) ? Math.max(1, Number(value)) : 1;
}

export function downloadPublicRoutes(deps: { catalogue: CatalogueService; downloads: DownloadService; config: Config }): Router {
  const { catalogue, downloads, config } = deps;
  const router = Router();

  router.get('/', async (req, res) => {
    const q = typeof req.query.q === 'string' ? req.query.q.trim().slice(0, 200) : '';
    let label;
    try {
      label = typeof req.query.label === 'string' ? parseLabel(req.query.label) : undefined;
    } catch (error) {
      if (error instanceof LabelError) throw badRequest(error.message, { code: 'LABEL_INVALID' });
      throw error;
    }
    const deprecated = req.query.deprecated === '1';
    const result = await catalogue.page({ q: q || undefined, label, deprecated, page: pageNumber(req.query.page) });
    const labels = await downloads.labelsInUse();
    res.render('public/list', {
      title: deprecated ? 'Deprecated downloads' : 'Downloads',
      result,
      q,
      label: label ? formatLabel(label) : '',
      deprecated,
      labels: labels.map(formatLabel),
    });
  });

  router.get('/feed.xml', async (req, res) => {
    const base = publicBase(req, config);
    const items = await catalogue.newest(50);
    const feed = new Feed({
      title: 'Downloads',
      id: `${base}/downloads`,
      link: `${base}/downloads`,
      feedLinks: { atom: `${base}/downloads/feed.xml` },
      updated: items[0]?.createdAt ?? new Date(0),
      copyright: '',
    });
    for (const d of items) {
      feed.addItem({
        title: d.title,
        id: `${base}/downloads/${d.slug}`,
        link: `${base}/downloads/${d.slug}`,
        date: d.updatedAt,
        published: d.createdAt,
        content: renderMarkdown(d.description),
        category: d.labels.map((l) => ({ name: formatLabel(l.label) })),
      });
    }
    res.type('application/atom+xml; charset=utf-8').set('Cache-Control', 'public, max-age=300').send(feed.atom1());
  });

  router.get('/:slug', async (req, res) => {
    const canManage = can(req.user?.role, 'downloads:manage');
    const download = await catalogue.findForViewer(req.params.slug, canManage);
    res.render('public/detail', {
      title: download.title,
      download,
      descriptionHtml: renderMarkdown(download.description),
      live: catalogue.isLive(download),
      canManage,
    });
  });

  return router;
}
