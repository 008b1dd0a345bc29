/**
 * GET /admin/analytics (the dashboard, analysts and up), /admin/analytics/export.csv (the same
 * tables as CSV), and GET /api/v1/stats[.csv] (API keys with analytics:view).
 */
import { Router } from 'express';
import { create as contentDisposition } from 'content-disposition';
import { z } from 'zod';
import { requireApiKey } from '../auth/auth-middleware.ts';
import type { UserService } from '../auth/user-service.ts';
import type { Clock } from '../clock.ts';
import { AppError, unprocessable } from '../errors.ts';
import { toCsv } from '../lib/csv.ts';
import { STATS_GROUPS, type AnalyticsService } from './analytics-service.ts';
import { chartsOf, csvFileName, dashboardCsv, heatLevel } from './dashboard-view.ts';
import { DAY_MS, isoDay, parseRange, type DateRange } from './date-range.ts';

const PRESETS = [7, 30, 90, 365];
const MAX_HOURLY_DAYS = 92;

export function analyticsAdminRoutes(deps: { analytics: AnalyticsService; clock: Clock }): Router {
  const { analytics, clock } = deps;
  const router = Router();

  router.get('/', async (req, res) => {
    let range: DateRange;
    let error: string | undefined;
    try {
      range = parseRange(req.query, { now: clock.now() });
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      error = e.message;
      range = parseRange({}, { now: clock.now() });
    }
    const dashboard = await analytics.dashboard(range);
    const today = isoDay(clock.now());
    res.render('admin/analytics', {
      title: 'Analytics',
      dashboard,
      error,
      charts: chartsOf(dashboard),
      heatLevel,
      form: { from: isoDay(range.from), to: isoDay(dashboard.lastDay) },
      presets: PRESETS.map((days) => ({ days, from: isoDay(new Date(Date.parse(today) - (days - 1) * DAY_MS)), to: today })),
    });
  });

  router.get('/export.csv', async (req, res) => {
    const dashboard = await analytics.dashboard(parseRange(req.query, { now: clock.now() }));
    res.type('text/csv; charset=utf-8');
    res.set('Content-Disposition', contentDisposition(csvFileName(dashboard)));
    res.send(dashboardCsv(dashboard));
  });

  return router;
}

const statsQuery = z.object({
  groupBy: z.enum(STATS_GROUPS, { error: `groupBy must be one of ${STATS_GROUPS.join(', ')}` }).default('day'),
  limit: z.coerce.number().int('limit must be a whole number').min(1, 'limit is 1 to 1000').max(1000, 'limit is 1 to 1000').default(100),
});

export function statsApiRoutes(deps: { analytics: AnalyticsService; clock: Clock; users: UserService }): Router {
  const { analytics, clock, users } = deps;
  const router = Router();

  router.get(['/stats', '/stats.csv'], requireApiKey(users, 'analytics:view'), async (req, res) => {
    const parsed = statsQuery.safeParse({ groupBy: req.query.groupBy, limit: req.query.limit });
    if (!parsed.success) throw unprocessable(parsed.error.issues[0]!.message, { code: 'QUERY_INVALID' });
    const { groupBy, limit } = parsed.data;
    const range = parseRange(req.query, { now: clock.now(), granularity: groupBy === 'day' ? 'day' : 'hour', allowTime: true });
    if (groupBy === 'hour' && range.to.getTime() - range.from.getTime() > MAX_HOURLY_DAYS * DAY_MS) {
      throw unprocessable(`groupBy=hour covers at most ${MAX_HOURLY_DAYS} days.`, { code: 'RANGE_INVALID' });
    }
    const stats = await analytics.stats(range, groupBy, limit);
    if (!req.path.endsWith('.csv')) {
      res.json(stats);
      return;
    }
    const withNames = groupBy === 'download' || groupBy === 'category';
    const header = withNames ? (groupBy === 'download' ? ['key', 'slug', 'title', 'count'] : ['key', 'title', 'count']) : ['key', 'count'];
    const rows = stats.items.map((i) => (groupBy === 'download' ? [i.key, i.slug, i.title, i.count] : groupBy === 'category' ? [i.key, i.title, i.count] : [i.key, i.count]));
    res.type('text/csv; charset=utf-8');
    res.set('Content-Disposition', contentDisposition(`stats-${groupBy}-${isoDay(range.from)}.csv`));
    res.send(toCsv([header, ...rows]));
  });

  return router;
}
