/**
 * Outgoing webhook endpoints (URL, secret, event types) and their deliveries, for the admin page.
 * The secret signs every delivery, so it is stored as it is (it cannot be hashed); it is shown
 * in full once, when generated, and afterwards only by its last four characters.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import { z } from 'zod';
import type { Clock } from '../clock.ts';
import type { Db } from '../db.ts';
import { notFound, unprocessable } from '../errors.ts';
import { WEBHOOK_EVENT_TYPES } from '../events/outbox.ts';
import { isHttpUrlWithoutCredentials } from '../lib/urls.ts';
import { isPrivateAddress } from './address-policy.ts';

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;

const endpointInput = z.object({
  url: z
    .string()
    .trim()
    .max(2000, 'The URL is at most 2000 characters.')
    .refine(isHttpUrlWithoutCredentials, 'The URL must be an http:// or https:// address without a user name or password.'),
  secret: z
    .string()
    .trim()
    .refine((v) => v === '' || (v.length >= 16 && v.length <= 200), 'A secret has 16 to 200 characters (or leave it empty to get one).')
    .optional(),
  events: z
    .array(z.enum(['*', ...WEBHOOK_EVENT_TYPES], { error: 'Unknown event type.' }))
    .min(1, 'Choose at least one event type.'),
});

export type EndpointInput = z.input<typeof endpointInput>;

export function createWebhookService(deps: {
  db: Db;
  clock: Clock;
  allowPrivateTargets: boolean;
  /** called after endpoints change (subscription caches, the worker) */
  onChange?: () => unknown;
}) {
  const { db, clock, allowPrivateTargets } = deps;
  const changed = async () => {
    await deps.onChange?.();
  };

  return {
    async listEndpoints() {
      const [endpoints, counts] = await Promise.all([
        db.webhookEndpoint.findMany({ orderBy: { id: 'asc' } }),
        db.webhookDelivery.groupBy({ by: ['endpointId', 'status'], _count: { _all: true } }),
      ]);
      return endpoints.map((e) => ({
        id: e.id,
        url: e.url,
        events: e.events,
        active: e.active,
        createdAt: e.createdAt,
        secretLast4: e.secret.slice(-4),
        counts: Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, counts.find((c) => c.endpointId === e.id && c.status === s)?._count._all ?? 0])),
      }));
    },

    /** Creates an endpoint; returns the secret when it was generated (shown once). */
    async createEndpoint(raw: unknown): Promise<{ id: number; generatedSecret?: string }> {
      const input = endpointInput.parse(raw);
      const host = new URL(input.url).hostname.replace(/^\[|\]$/g, '');
      if (!allowPrivateTargets && net.isIP(host) && isPrivateAddress(host)) {
        throw unprocessable('This address is private or local; webhooks may not be sent there (WEBHOOK_ALLOW_PRIVATE_TARGETS).', { code: 'WEBHOOK_URL_PRIVATE' });
      }
      const generatedSecret = input.secret ? undefined : `whsec_${crypto.randomBytes(24).toString('base64url')}`;
      const events = input.events.includes('*') ? '*' : [...new Set(input.events)].join(',');
      const endpoint = await db.webhookEndpoint.create({
        data: { url: input.url, secret: input.secret || generatedSecret!, events, createdAt: clock.now() },
      });
      await changed();
      return { id: endpoint.id, generatedSecret };
    },

    async setActive(id: number, active: boolean) {
      const { count } = await db.webhookEndpoint.updateMany({ where: { id }, data: { active } });
      if (!count) throw notFound('This webhook endpoint does not exist.');
      await changed();
    },

    /** Deletes the endpoint and its deliveries. */
    async deleteEndpoint(id: number) {
      const { count } = await db.webhookEndpoint.deleteMany({ where: { id } });
      if (!count) throw notFound('This webhook endpoint does not exist.');
      await changed();
    },

    async listDeliveries(filter: { status?: string; endpointId?: number; take?: number } = {}) {
      return db.webhookDelivery.findMany({
        where: { status: filter.status, endpointId: filter.endpointId },
        orderBy: { id: 'desc' },
        take: filter.take ?? 50,
        select: {
          id: true,
          endpointId: true,
          eventType: true,
          status: true,
          attempts: true,
          nextAttemptAt: true,
          lastStatusCode: true,
          lastError: true,
          createdAt: true,
          deliveredAt: true,
          endpoint: { select: { url: true } },
        },
      });
    },

    /**
     * Sends a delivery again as soon as the worker passes: one more attempt for a failed one
     * (then failed again if it fails), a fresh schedule for a pending one, a redelivery for a
     * delivered one.
     */
    async retry(id: number) {
      const { count } = await db.webhookDelivery.updateMany({
        where: { id },
        data: { status: 'pending', nextAttemptAt: clock.now(), deliveredAt: null },
      });
      if (!count) throw notFound('This delivery does not exist.');
      await changed();
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
