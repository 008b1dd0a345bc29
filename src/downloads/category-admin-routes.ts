/** Admin page for the category tree: add, rename, move, reorder, delete. */
import { Router } from 'express';
import { ZodError } from 'zod';
import { AppError } from '../errors.ts';
import { toAppError } from '../http/error-handler.ts';
import { flash } from '../http/flash.ts';
import { idParam } from '../http/params.ts';
import type { CategoryService } from './category-service.ts';

export function categoryAdminRoutes(deps: { categories: CategoryService }): Router {
  const { categories } = deps;
  const router = Router();

  const attempt = async (req: Parameters<Parameters<typeof router.post>[1]>[0], work: () => Promise<string>) => {
    try {
      flash(req, 'success', await work());
    } catch (error) {
      if (!(error instanceof AppError || error instanceof ZodError)) throw error;
      flash(req, 'error', toAppError(error).message);
    }
  };

  router.get('/', async (_req, res) => {
    const tree = await categories.tree();
    const counts = await categories.downloadCounts();
    res.render('admin/categories', { title: 'Categories', categories: tree.ordered, counts });
  });

  router.post('/', async (req, res) => {
    await attempt(req, async () => `Category “${(await categories.create(req.body)).title}” was added.`);
    res.redirect(303, '/admin/categories');
  });

  router.post('/:id', async (req, res) => {
    const id = idParam(req.params.id);
    await attempt(req, async () => `Category “${(await categories.update(id, req.body)).title}” was saved.`);
    res.redirect(303, '/admin/categories');
  });

  router.post('/:id/delete', async (req, res) => {
    const id = idParam(req.params.id);
    await attempt(req, async () => {
      await categories.remove(id);
      return 'The category was deleted; its downloads and subcategories stay, without it.';
    });
    res.redirect(303, '/admin/categories');
  });

  return router;
}
