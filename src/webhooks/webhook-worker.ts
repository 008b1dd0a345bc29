/**
 * Delivers the webhook outbox (WebhookDelivery rows, written in the transactions of the changes
 * they report). Every WEBHOOK_POLL_INTERVAL it takes the due rows of active endpoints, claims
 * each with one conditional update, sends it, and records the answer: delivered on a 2xx, else
 * retried after WEBHOOK_RETRY_BASE × 2^(attempt − 1) until WEBHOOK_MAX_ATTEMPTS, then failed.
 *
 * Several instances may run it against one PostgreSQL database: a claim moves the row's
 * `attempts` and `nextAttemptAt` only if they are still what the worker read, so exactly one
 * worker wins a row; the others' updates match nothing. The claim pushes `nextAttemptAt` past
 * the send's deadline (a lease): if the process dies mid-send, the row comes due again.
 * Delivery is therefore at least once; receivers dedupe on X-Webhook-Delivery.
 */
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db.ts';
import type { Logger } from '../log.ts';
import { createWebhookSender, type WebhookSender } from './webhook-sender.ts';

/** Longest wait between two attempts, whatever the base and the attempt. */
export const MAX_BACKOFF_MS = 24 * 3_600_000;

/** The wait after failed attempt number `attempt` (1 = the first try). */
export function backoffMs(attempt: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempt - 1), MAX_BACKOFF_MS);
}

export interface WebhookWorker {
  start(): void;
  /** Stops polling and waits for the sends in flight. */
  stop(): Promise<void>;
  /** Looks for due deliveries now (after a retry was requested here). */
  poke(): void;
  /** One pass over the due deliveries; resolves with how many were sent. */
  runOnce(): Promise<number>;
}

interface Claimed {
  id: number;
  eventType: string;
  payload: string;
  attempts: number;
  endpoint: { url: string; secret: string };
}

export function createWebhookWorker(deps: {
  db: Db;
  clock: Clock;
  log: Logger;
  config: Config['webhooks'];
  send?: WebhookSender;
  batchSize?: number;
  concurrency?: number;
}): WebhookWorker {
  const { db, clock, log, config, batchSize = 20, concurrency = 4 } = deps;
  const send = deps.send ?? createWebhookSender({ timeoutMs: config.timeoutMs, allowPrivate: config.allowPrivateTargets });
  const leaseMs = config.timeoutMs + 30_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let stopped = true;

  async function claim(): Promise<Claimed[]> {
    const now = clock.now();
    const due = await db.webhookDelivery.findMany({
      where: { status: 'pending', nextAttemptAt: { lte: now }, endpoint: { active: true } },
      orderBy: [{ nextAttemptAt: 'asc' }, { id: 'asc' }],
      take: batchSize,
      select: { id: true, eventType: true, payload: true, attempts: true, endpoint: { select: { url: true, secret: true } } },
    });
    const claimed: Claimed[] = [];
    for (const d of due) {
      const { count } = await db.webhookDelivery.updateMany({
        where: { id: d.id, status: 'pending', attempts: d.attempts, nextAttemptAt: { lte: now } },
        data: { attempts: d.attempts + 1, nextAttemptAt: new Date(now.getTime() + leaseMs) },
      });
      if (count === 1) claimed.push({ ...d, attempts: d.attempts + 1 });
    }
    return claimed;
  }

  async function deliver(d: Claimed) {
    const result = await send(d.endpoint, { id: d.id, eventType: d.eventType, payload: d.payload, attempt: d.attempts });
    const now = clock.now();
    const outcome = result.ok
      ? { status: 'delivered', deliveredAt: now }
      : d.attempts >= config.maxAttempts
        ? { status: 'failed' }
        : { nextAttemptAt: new Date(now.getTime() + backoffMs(d.attempts, config.retryBaseMs)) };
    // Only if the row is still ours (a lease that ran out may have let another worker claim it).
    await db.webhookDelivery.updateMany({
      where: { id: d.id, attempts: d.attempts },
      data: { ...outcome, lastStatusCode: result.status, lastError: result.error },
    });
    if (!result.ok) log.info({ delivery: d.id, attempt: d.attempts, status: result.status, error: result.error }, 'webhook delivery failed');
  }

  async function runOnce(): Promise<number> {
    const claimed = await claim();
    const queue = [...claimed];
    const lanes = Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let d = queue.shift(); d; d = queue.shift()) {
        await deliver(d).catch((error) => log.error({ err: error, delivery: d.id }, 'recording a webhook delivery failed'));
      }
    });
    await Promise.all(lanes);
    return claimed.length;
  }

  function schedule(delayMs: number) {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (running) return schedule(config.pollIntervalMs);
      running = runOnce()
        .catch((error) => {
          log.error({ err: error }, 'webhook worker pass failed');
          return 0;
        })
        .finally(() => (running = undefined));
      // A full batch means more may be due: go on at once.
      void running.then((sent) => schedule(sent >= batchSize ? 0 : config.pollIntervalMs));
    }, delayMs);
    timer.unref?.();
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
    poke() {
      schedule(0);
    },
    runOnce,
  };
}
