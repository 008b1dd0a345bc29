/**
 * `download.requested` webhooks: one outbox row per counted download and subscribed endpoint,
 * written by the group-commit batch writer in the transaction that stores the event. The hot
 * path must stay cheap, so which endpoints subscribe is cached for a few seconds (and refreshed
 * at once when this instance changes an endpoint); with no subscriber, a batch costs one
 * comparison.
 */
import type { Clock } from '../clock.ts';
import type { Db } from '../db.ts';
import type { DownloadEventRow } from '../events/download-recorder.ts';
import type { OutboxRow } from '../events/event-batch-writer.ts';
import { subscribes } from '../events/outbox.ts';
import type { Logger } from '../log.ts';

export const REQUESTED = 'download.requested';

export interface RequestedWebhooks {
  /** Before a batch: the first load waits, later refreshes run in the background. */
  prepare(): Promise<void> | undefined;
  outbox(inserted: DownloadEventRow[]): OutboxRow[];
  /** After an endpoint changed here: the next batch sees it. */
  invalidate(): Promise<void>;
}

export function createRequestedWebhooks(deps: {
  db: Db;
  clock: Clock;
  log: Logger;
  /** slug and title of a download, for the payload (analytics/download-facts.ts) */
  describe(downloadId: number): { slug: string; title: string } | undefined;
  maxAgeMs?: number;
}): RequestedWebhooks {
  const { db, clock, log, describe, maxAgeMs = 5000 } = deps;
  let endpointIds: number[] = [];
  let loadedAt: number | undefined;
  let loading: Promise<void> | undefined;

  async function load() {
    const started = Date.now();
    const endpoints = await db.webhookEndpoint.findMany({ where: { active: true }, select: { id: true, events: true }, orderBy: { id: 'asc' } });
    endpointIds = endpoints.filter((e) => subscribes(e.events, REQUESTED)).map((e) => e.id);
    loadedAt = started;
  }

  function reload(): Promise<void> {
    loading ??= load()
      .catch((error) => log.warn({ err: error }, 'loading webhook subscriptions failed'))
      .finally(() => (loading = undefined));
    return loading;
  }

  function payload(event: DownloadEventRow): string {
    const download = event.downloadId === null ? undefined : describe(event.downloadId);
    return JSON.stringify({
      type: REQUESTED,
      occurredAt: event.occurredAt.toISOString(),
      data: {
        event: {
          id: event.id,
          occurredAt: event.occurredAt.toISOString(),
          source: event.source,
          outcome: event.outcome,
          status: event.status,
          rangeStart: event.rangeStart === null ? null : Number(event.rangeStart),
          tokenId: event.tokenId,
          agentClass: event.agentClass,
          referrerHost: event.referrerHost,
          repository: event.repository ?? null,
          artifact: event.artifact ?? null,
          artifactType: event.artifactType ?? null,
        },
        download: event.downloadId === null ? null : { id: event.downloadId, slug: download?.slug ?? null, title: download?.title ?? null },
      },
    });
  }

  return {
    prepare() {
      if (loadedAt === undefined) return reload();
      if (Date.now() - loadedAt > maxAgeMs) void reload();
      return undefined;
    },
    outbox(inserted) {
      if (!endpointIds.length) return [];
      const at = clock.now();
      const rows: OutboxRow[] = [];
      for (const event of inserted) {
        if (!event.counted) continue;
        const body = payload(event);
        for (const endpointId of endpointIds) rows.push({ endpointId, eventType: REQUESTED, payload: body, at });
      }
      return rows;
    },
    async invalidate() {
      await loading;
      await reload();
    },
  };
}
