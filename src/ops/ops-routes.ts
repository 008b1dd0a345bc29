import { Router } from 'express';
import type { Db } from '../db.ts';
import type { Metrics } from './metrics.ts';

/** Health for load balancers and metrics for Prometheus; neither touches a session. */
export function opsRoutes(deps: { db: Db; metrics: Metrics }): Router {
  const router = Router();
  router.get('/healthz', async (_req, res) => {
    try {
      await deps.db.$queryRawUnsafe('SELECT 1');
      res.set('Cache-Control', 'no-store').json({ status: 'ok' });
    } catch {
      res.status(503).set('Cache-Control', 'no-store').json({ status: 'unavailable' });
    }
  });
  router.get('/metrics', async (_req, res) => {
    res.set('Content-Type', deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  });
  return router;
}
