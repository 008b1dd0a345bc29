/**
 * createApp(deps): the Express application without a listening socket (tests drive it with
 * supertest, main.ts listens). Middleware order matters and reads top to bottom:
 * context → security headers → sessionless routes (health, metrics, static, API) → session →
 * sign-in → admin (no-store, role, CSRF) → public pages → 404 → error handler.
 */
import path from 'node:path';
import express, { type Express } from 'express';
import { PROJECT_ROOT } from './config.ts';
import type { AppDeps } from './deps.ts';
import { adminHomeRoutes } from './admin/admin-home-routes.ts';
import { authRoutes } from './auth/auth-routes.ts';
import { loadSessionUser, requireApiKey, requirePermission } from './auth/auth-middleware.ts';
import { userAdminRoutes } from './auth/user-admin-routes.ts';
import { csrfProtection } from './http/csrf.ts';
import { errorHandler, notFoundHandler } from './http/error-handler.ts';
import { exposeFlash } from './http/flash.ts';
import { requestContext } from './http/request-context.ts';
import { noStore, securityHeaders } from './http/security-headers.ts';
import { saveSessionBeforeRedirect, sessionIfCookie } from './http/session.ts';
import { opsRoutes } from './ops/ops-routes.ts';
import { categoryAdminRoutes } from './downloads/category-admin-routes.ts';
import { downloadAdminRoutes } from './downloads/download-admin-routes.ts';
import { downloadApiRoutes } from './downloads/download-api-routes.ts';
import { downloadPublicRoutes } from './downloads/download-public-routes.ts';
import { viewHelpers } from './http/view-helpers.ts';
import { serveHandlers } from './serving/serve-routes.ts';
import { tokenAdminRoutes, tokenApiRoutes } from './tokens/token-routes.ts';
import { generatedAdminRoutes } from './generators/generated-admin-routes.ts';
import { archiveAdminRoutes, archiveApiRoutes } from './archives/archive-routes.ts';
import { analyticsAdminRoutes, statsApiRoutes } from './analytics/analytics-routes.ts';
import { CHART_SCRIPT_URL, serveChartScript } from './analytics/chart-asset.ts';
import { intakeRoutes } from './analytics/intake-routes.ts';
import { webhookAdminRoutes } from './webhooks/webhook-admin-routes.ts';

export function createApp(deps: AppDeps): Express {
  const { config, log, metrics, users, downloads, categories, catalogue, files } = deps;
  const db = deps.database.prisma;
  const app = express();

  app.set('trust proxy', config.server.trustProxy);
  app.set('x-powered-by', false);
  app.set('view engine', 'ejs');
  app.set('views', path.join(PROJECT_ROOT, 'views'));
  app.set('query parser', 'simple');
  app.locals.appName = 'Downloads';
  app.locals.fmt = viewHelpers;

  // The serve handler is the hot path, so it runs ahead of the page middleware: no per-request
  // log line (the event row and nginx's access log record it), no page headers (served files
  // carry their own policy: serving/content-policy.ts, nginx's internal location), and a
  // session only when the request brings a session cookie (bypass roles, editors).
  const withSessionIfAny = sessionIfCookie(deps.session.handler, loadSessionUser(users));
  const serve = serveHandlers({ ...deps, slugOfId: (id) => downloads.slugOfId(id) });
  app.get('/downloads/:slug/file', withSessionIfAny, serve.file);
  app.get('/downloads/:slug/latest', withSessionIfAny, serve.latest);

  const pageHeaders = securityHeaders();
  app.use(requestContext(log));
  app.use(metrics.observeRequests);
  app.use(pageHeaders);

  // Sessionless: health checks, metrics, assets.
  app.use(opsRoutes({ db, metrics }));
  app.use('/static', express.static(path.join(PROJECT_ROOT, 'public'), { maxAge: '1h', fallthrough: false }));
  // The dashboard's charting library, from node_modules (same origin: the CSP allows no CDN).
  app.get(CHART_SCRIPT_URL, serveChartScript);

  // Download webhooks from other systems (WEBHOOK_SECRET; the raw body is kept for its HMAC).
  app.use(intakeRoutes({ intake: deps.intake, secret: config.webhooks.secret }));

  // The JSON API authenticates with API keys only (no cookies, hence no CSRF).
  const api = express.Router();
  api.use(express.json({ limit: '1mb' }));
  api.get('/me', requireApiKey(users), (req, res) => res.json({ user: req.user }));
  api.use(statsApiRoutes({ analytics: deps.analytics, clock: deps.clock, users }));
  api.use(requireApiKey(users, 'downloads:manage'), tokenApiRoutes({ tokens: deps.tokens, downloads, clock: deps.clock, config }));
  api.use('/downloads', requireApiKey(users, 'downloads:manage'), downloadApiRoutes({ downloads, categories, files, config, generated: deps.generatedDownloads }));
  api.use('/archives', requireApiKey(users, 'downloads:manage'), archiveApiRoutes({ importer: deps.archives, categories, files, config }));
  app.use('/api/v1', api);

  // Browser routes below carry a session.
  app.use(deps.session.handler, saveSessionBeforeRedirect);
  app.use(loadSessionUser(users));
  app.use(express.urlencoded({ extended: false, limit: '100kb', parameterLimit: 200 }));
  app.use(exposeFlash);
  app.use((req, res, next) => {
    res.locals.currentPath = req.path;
    next();
  });

  app.use(authRoutes({ config, users }));

  const admin = express.Router();
  admin.use(noStore, requirePermission('analytics:view'), ...csrfProtection);
  admin.use('/users', requirePermission('users:manage'), userAdminRoutes({ users }));
  admin.use('/downloads/:id/tokens', requirePermission('downloads:manage'), tokenAdminRoutes({ tokens: deps.tokens, downloads, clock: deps.clock, config }));
  admin.use('/downloads/generated', requirePermission('downloads:manage'), generatedAdminRoutes({ generated: deps.generatedDownloads, downloads, categories, files, config }));
  admin.use('/downloads', requirePermission('downloads:manage'), downloadAdminRoutes({ downloads, categories, files, config }));
  admin.use('/archives', requirePermission('downloads:manage'), archiveAdminRoutes({ importer: deps.archives, categories, files, config }));
  admin.use('/categories', requirePermission('downloads:manage'), categoryAdminRoutes({ categories }));
  admin.use('/analytics', analyticsAdminRoutes({ analytics: deps.analytics, clock: deps.clock }));
  admin.use('/webhooks', requirePermission('webhooks:manage'), webhookAdminRoutes({ webhooks: deps.webhooks, onRetry: () => deps.webhookWorker.poke() }));
  admin.use('/', adminHomeRoutes({ db }));
  app.use('/admin', admin);

  app.use('/downloads', downloadPublicRoutes({ catalogue, downloads, config }));
  app.get('/', (_req, res) => res.redirect(302, '/downloads'));

  app.use(notFoundHandler);
  app.use(errorHandler(log, pageHeaders));
  return app;
}
