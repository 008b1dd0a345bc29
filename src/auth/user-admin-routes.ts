/** Admin pages for people: list, create, change role, disable, reset password, API keys. */
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { flash } from '../http/flash.ts';
import { idParam } from '../http/params.ts';
import { roleSchema, type UserService } from './user-service.ts';

const createForm = z.object({
  username: z.string(),
  password: z.string(),
  role: roleSchema,
});

const updateForm = z.object({
  role: roleSchema.optional(),
  disabled: z.enum(['0', '1']).optional(),
  password: z.string().optional(),
});

export function userAdminRoutes(deps: { users: UserService }): Router {
  const { users } = deps;
  const router = Router();

  async function renderList(req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200) {
    const list = await users.listUsers();
    const keys = Object.fromEntries(await Promise.all(list.map(async (u) => [u.id, await users.listApiKeys(u.id)])));
    res.status(status).render('admin/users', {
      title: 'Users',
      users: list,
      keys,
      newKey: undefined,
      error: undefined,
      form: { username: '', role: 'editor' },
      ...extra,
    });
  }

  router.get('/', (req, res) => renderList(req, res));

  router.post('/', async (req, res) => {
    const parsed = createForm.safeParse(req.body);
    try {
      if (!parsed.success) throw new AppError(400, 'Fill in username, password and role.');
      const user = await users.createUser(parsed.data);
      flash(req, 'success', `User ${user.username} was created.`);
      res.redirect(303, '/admin/users');
    } catch (error) {
      const message = error instanceof z.ZodError ? error.issues[0]!.message : error instanceof AppError ? error.message : undefined;
      if (!message) throw error;
      const status = error instanceof AppError ? error.status : 400;
      await renderList(req, res, { error: message, form: { username: String(req.body?.username ?? ''), role: req.body?.role } }, status);
    }
  });

  router.post('/:id', async (req, res) => {
    const id = idParam(req.params.id);
    const form = updateForm.parse(req.body);
    if (id === req.user!.id && (form.disabled === '1' || (form.role && form.role !== 'admin'))) {
      throw new AppError(400, 'You cannot disable yourself or remove your own admin role.', { code: 'SELF_DEMOTION' });
    }
    await users.updateUser(id, {
      role: form.role,
      disabled: form.disabled === undefined ? undefined : form.disabled === '1',
      password: form.password || undefined,
    });
    flash(req, 'success', 'The user was updated.');
    res.redirect(303, '/admin/users');
  });

  router.post('/:id/delete', async (req, res) => {
    const id = idParam(req.params.id);
    if (id === req.user!.id) throw new AppError(400, 'You cannot delete yourself.', { code: 'SELF_DELETE' });
    await users.deleteUser(id);
    flash(req, 'success', 'The user was deleted.');
    res.redirect(303, '/admin/users');
  });

  router.post('/:id/api-keys', async (req, res) => {
    const id = idParam(req.params.id);
    const user = (await users.listUsers()).find((u) => u.id === id);
    if (!user) throw new AppError(404, 'This user does not exist.');
    const name = typeof req.body?.name === 'string' && req.body.name.trim() ? req.body.name.trim() : 'default';
    const { key } = await users.createApiKey(user.username, name);
    // Rendered, not redirected: the key must not pass through the session store.
    await renderList(req, res, { newKey: { username: user.username, key } }, 201);
  });

  router.post('/:id/api-keys/:keyId/revoke', async (req, res) => {
    await users.revokeApiKey(idParam(req.params.id), idParam(req.params.keyId));
    flash(req, 'success', 'The API key was revoked.');
    res.redirect(303, '/admin/users');
  });

  return router;
}
