import { Router } from 'express';
import type { Db } from '../db.ts';

/** The admin landing page: what there is and where to go. */
export function adminHomeRoutes(deps: { db: Db }): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    const [users] = await Promise.all([deps.db.user.count()]);
    res.render('admin/home', { title: 'Admin', counts: { users } });
  });
  return router;
}
