/**
 * Records download events by group commit: every request hands its event to `record()` and
 * waits; events that arrive while a transaction is being written wait together and go into the
 * next one. Each response is sent only after its own event and count are committed, so no
 * count is lost to a crash after the bytes left, and a thousand concurrent downloads cost a
 * handful of transactions instead of a thousand. (The writing itself: event-batch-writer.ts.)
 */
import { unavailable } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { EventBatchWriter } from './event-batch-writer.ts';

export interface DownloadEventRow {
  id: string;
  occurredAt: Date;
  downloadId: number | null;
  source: string;
  outcome: string;
  reason: string | null;
  counted: boolean;
  method: string | null;
  status: number | null;
  rangeStart: bigint | null;
  rangeEnd: bigint | null;
  userId: number | null;
  tokenId: number | null;
  bypass: boolean;
  ip: string | null;
  userAgent: string | null;
  agentClass: string | null;
  referrer: string | null;
  referrerHost: string | null;
  repository?: string | null;
  artifact?: string | null;
  artifactType?: string | null;
  dedupeKey?: string | null;
}

interface Pending {
  event: DownloadEventRow;
  resolve(inserted: boolean): void;
  reject(error: unknown): void;
}

export interface DownloadRecorder {
  /**
   * Resolves once the event (and what it counts) is committed: true when stored, false when an
   * event with the same dedupeKey was already there. Rejects with 503 if it cannot be written.
   */
  record(event: DownloadEventRow): Promise<boolean>;
  /**
   * Takes back a counted event (its count, its counted rollups) in the next transaction: the
   * client was gone before the answer could be handed over. Fire and forget.
   */
  retract(event: DownloadEventRow): void;
  /** Writes everything queued so far (shutdown, tests). */
  drain(): Promise<void>;
}

export interface RecorderOptions {
  write: EventBatchWriter;
  log: Logger;
  maxBatch?: number;
  onBatch?: (size: number) => void;
}

export function createDownloadRecorder(options: RecorderOptions): DownloadRecorder {
  const { write, log, maxBatch = 500 } = options;
  let queue: Pending[] = [];
  let retractions: DownloadEventRow[] = [];
  let writing: Promise<void> | undefined;
  let scheduled = false;

  async function writeAll() {
    while (queue.length || retractions.length) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      const events = batch.map((p) => p.event);
      const taken = retractions;
      retractions = [];
      try {
        const inserted = await write(events, taken).catch(async (error) => {
          // One retry: SQLite may report a busy database when another process (a CLI command,
          // a backup) holds the write lock for longer than the busy timeout.
          log.warn({ err: error, size: events.length }, 'download event batch failed; retrying once');
          return write(events, taken);
        });
        options.onBatch?.(events.length);
        for (const p of batch) p.resolve(inserted.has(p.event.id));
      } catch (error) {
        log.error({ err: error, size: events.length }, 'download event batch failed');
        const refusal = unavailable('The download could not be recorded; try again in a moment.', {
          code: 'RECORDING_FAILED',
          headers: { 'Retry-After': '1' },
          cause: error,
        });
        for (const p of batch) p.reject(refusal);
      }
    }
  }

  function startWriting() {
    scheduled = false;
    if (writing) return;
    writing = writeAll().finally(() => {
      writing = undefined;
      if (queue.length || retractions.length) startWriting();
    });
  }

  return {
    record(event) {
      return new Promise<boolean>((resolve, reject) => {
        queue.push({ event, resolve, reject });
        // Requests arriving in the same turn of the event loop join one transaction; while a
        // transaction is being written, new ones gather for the next.
        if (!scheduled && !writing) {
          scheduled = true;
          setImmediate(startWriting);
        }
      });
    },
    retract(event) {
      if (!event.counted) return;
      retractions.push(event);
      if (!scheduled && !writing) {
        scheduled = true;
        setImmediate(startWriting);
      }
    },
    async drain() {
      while (queue.length || retractions.length || writing || scheduled) {
        if (scheduled && !writing) startWriting();
        await (writing ?? new Promise((r) => setImmediate(r)));
      }
    },
  };
}
