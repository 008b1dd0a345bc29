/** /admin/webhooks (admins: webhooks:manage): endpoints, their deliveries, retry. */
import { Router, type Request, type Response } from 'express';
import { ZodError } from 'zod';
import { AppError } from '../errors.ts';
import { WEBHOOK_EVENT_TYPES } from '../events/outbox.ts';
import { flash } from '../http/flash.ts';
import { idParam } from '../http/params.ts';
import { DELIVERY_STATUSES, type WebhookService } from './webhook-service.ts';

const asList = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);

export function webhookAdminRoutes(deps: { webhooks: WebhookService; onRetry?: () => void }): Router {
  const { webhooks } = deps;
  const router = Router();

  async function render(req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200) {
    const statusFilter = (DELIVERY_STATUSES as readonly string[]).includes(String(req.query.status)) ? String(req.query.status) : undefined;
    const [endpoints, deliveries] = await Promise.all([webhooks.listEndpoints(), webhooks.listDeliveries({ status: statusFilter })]);
    res.status(status).render('admin/webhooks', {
      title: 'Webhooks',
      endpoints,
      deliveries,
      statuses: DELIVERY_STATUSES,
      statusFilter,
      eventTypes: WEBHOOK_EVENT_TYPES,
      created: undefined,
      error: undefined,
      form: { url: '', events: ['*'] },
      ...extra,
    });
  }

  router.get('/', (req, res) => render(req, res));

  router.post('/', async (req, res) => {
    const body = req.body as Record<string, unknown>;
    const form = { url: String(body.url ?? ''), secret: String(body.secret ?? ''), events: asList(body.events) };
    try {
      const { id, generatedSecret } = await webhooks.createEndpoint(form);
      if (!generatedSecret) {
        flash(req, 'success', `Webhook endpoint #${id} was added.`);
        return res.redirect(303, '/admin/webhooks');
      }
      // Rendered, not redirected: the secret must not pass through the session store.
      await render(req, res, { created: { id, secret: generatedSecret } }, 201);
    } catch (error) {
      const message = error instanceof ZodError ? error.issues[0]!.message : error instanceof AppError && error.expose ? error.message : undefined;
      if (!message) throw error;
      await render(req, res, { error: message, form: { url: form.url, events: form.events } }, 422);
    }
  });

  router.post('/:id/active', async (req, res) => {
    const active = (req.body as Record<string, unknown>).active === '1';
    await webhooks.setActive(idParam(req.params.id), active);
    flash(req, 'success', active ? 'The endpoint is active again.' : 'The endpoint is paused: its deliveries wait.');
    res.redirect(303, '/admin/webhooks');
  });

  router.post('/:id/delete', async (req, res) => {
    await webhooks.deleteEndpoint(idParam(req.params.id));
    flash(req, 'success', 'The endpoint and its deliveries were deleted.');
    res.redirect(303, '/admin/webhooks');
  });

  router.post('/deliveries/:id/retry', async (req, res) => {
    const id = idParam(req.params.id);
    await webhooks.retry(id);
    deps.onRetry?.();
    flash(req, 'success', `Delivery #${id} will be sent again in a moment.`);
    res.redirect(303, '/admin/webhooks');
  });

  return router;
}
