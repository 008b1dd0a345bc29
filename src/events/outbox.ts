/**
 * The webhook outbox: one WebhookDelivery row per subscribed endpoint, written with the
 * transaction client of the change it reports, so a change and its notification commit (or
 * roll back) together. A worker delivers the rows later (webhooks/webhook-worker.ts).
 */
import type { Tx } from '../db.ts';

export const WEBHOOK_EVENT_TYPES = [
  'download.requested',
  'download.created',
  'download.updated',
  'download.deprecated',
  'download.deleted',
  'archive.imported',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export function subscribes(events: string, type: string): boolean {
  return events
    .split(',')
    .map((e) => e.trim())
    .some((e) => e === '*' || e === type);
}

export async function enqueueWebhook(tx: Tx, type: WebhookEventType, data: unknown, now: Date): Promise<number> {
  return enqueueWebhooks(tx, [[type, data]], now);
}

/** Several events at once (an archive import): the endpoints are read once, the rows inserted together. */
export async function enqueueWebhooks(tx: Tx, events: [WebhookEventType, unknown][], now: Date): Promise<number> {
  const endpoints = await tx.webhookEndpoint.findMany({ where: { active: true }, select: { id: true, events: true } });
  const rows = events.flatMap(([type, data]) => {
    const targets = endpoints.filter((e) => subscribes(e.events, type));
    if (targets.length === 0) return [];
    const payload = JSON.stringify({ type, occurredAt: now.toISOString(), data }, (_k, v) => (typeof v === 'bigint' ? Number(v) : v));
    return targets.map((t) => ({ endpointId: t.id, eventType: type, payload, nextAttemptAt: now, createdAt: now }));
  });
  for (let i = 0; i < rows.length; i += 200) await tx.webhookDelivery.createMany({ data: rows.slice(i, i + 200) });
  return rows.length;
}
