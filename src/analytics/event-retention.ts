/**
 * Raw download events are kept EVENT_RETENTION_DAYS, then deleted; finished webhook deliveries
 * too. Counters (Download.downloadCount) and rollups are separate rows that only ever move by
 * increments, so pruning changes neither: the dashboard's history outlives the raw events.
 *
 * Deletion goes in small chunks, each its own short transaction, so event recording (which
 * waits for the write lock on SQLite) is never held up for long.
 */
import type { Clock } from '../clock.ts';
import type { Db } from '../db.ts';
import type { Logger } from '../log.ts';
import { DAY_MS } from './date-range.ts';

const CHUNK = 2000;
const EVERY_MS = 3_600_000;

export interface PruneReport {
  before: string;
  events: number;
  deliveries: number;
}

export interface EventRetention {
  prune(): Promise<PruneReport>;
  /** Prunes now and then every hour, until stop(). */
  start(): void;
  stop(): Promise<void>;
}

export function createEventRetention(deps: { db: Db; clock: Clock; log: Logger; retentionDays: number }): EventRetention {
  const { db, clock, log, retentionDays } = deps;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;

  async function pruneEvents(before: Date): Promise<number> {
    let removed = 0;
    for (;;) {
      const ids = (await db.downloadEvent.findMany({ where: { occurredAt: { lt: before } }, select: { id: true }, orderBy: { occurredAt: 'asc' }, take: CHUNK })).map((e) => e.id);
      if (!ids.length) return removed;
      removed += (await db.downloadEvent.deleteMany({ where: { id: { in: ids } } })).count;
      if (ids.length < CHUNK) return removed;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async function prune(): Promise<PruneReport> {
    const before = new Date(clock.now().getTime() - retentionDays * DAY_MS);
    const events = await pruneEvents(before);
    const { count: deliveries } = await db.webhookDelivery.deleteMany({ where: { status: { in: ['delivered', 'failed'] }, createdAt: { lt: before } } });
    if (events || deliveries) log.info({ before, events, deliveries }, 'pruned old download events and webhook deliveries');
    return { before: before.toISOString(), events, deliveries };
  }

  function run() {
    running = prune()
      .catch((error) => log.error({ err: error }, 'pruning download events failed'))
      .finally(() => (running = undefined));
  }

  return {
    prune,
    start() {
      if (timer) return;
      run();
      timer = setInterval(() => running || run(), EVERY_MS);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
