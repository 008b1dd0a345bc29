/**
 * Downloads reported by other systems become download events like the server's own, with
 * source `external:<name>`, and go through the same group commit (so rollups and counters move
 * in the transaction that stores them).
 *
 * Idempotency rides on the unique DownloadEvent.dedupeKey:
 * - a delivery with an id is stored under `<source>:id:<id>`: the same id again is acknowledged
 *   and not counted, for as long as the event is kept (EVENT_RETENTION_DAYS);
 * - a CloudRepo delivery without an id is stored under `cloudrepo:body:<sha256 of the raw body>`:
 *   the same body is a repeat for 24 hours after the delivery that was counted, to the
 *   millisecond. After that the key is released (renamed after its event) and the next one
 *   counts. Two concurrent repeats both try to release; at most one insert wins the key.
 */
import crypto from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Db } from '../db.ts';
import { unprocessable } from '../errors.ts';
import type { DownloadEventRow, DownloadRecorder } from '../events/download-recorder.ts';
import { newEventId } from '../lib/event-ids.ts';
import { agentClass, referrerHost } from '../serving/client-info.ts';
import { classifyArtifact } from './artifact-types.ts';
import { parseCloudRepo, parseExternalEvents, type ExternalEvent } from './intake-payloads.ts';

export const CLOUDREPO_SOURCE = 'external:cloudrepo';
export const REPEAT_WINDOW_MS = 24 * 3_600_000;
/** Reported times may run a little ahead of ours (clock skew), not more. */
const FUTURE_TOLERANCE_MS = 5 * 60_000;

export interface IntakeService {
  /** Records a CloudRepo delivery; false when it repeats one already counted. */
  recordCloudRepo(raw: Buffer, payload: unknown): Promise<boolean>;
  recordExternal(payload: unknown): Promise<{ accepted: number; duplicates: number }>;
}

export interface IntakeDeps {
  db: Db;
  recorder: DownloadRecorder;
  clock: Clock;
  retentionDays: number;
  /** the id of a download here, by slug (an external mirror may report ours) */
  downloadIdOf(slug: string): Promise<number | undefined>;
}

function externalRow(at: Date, fields: Partial<DownloadEventRow> & Pick<DownloadEventRow, 'source'>): DownloadEventRow {
  return {
    id: newEventId(at.getTime()),
    occurredAt: at,
    downloadId: null,
    outcome: 'served',
    reason: null,
    counted: true,
    method: null,
    status: null,
    rangeStart: null,
    rangeEnd: null,
    userId: null,
    tokenId: null,
    bypass: false,
    ip: null,
    userAgent: null,
    agentClass: null,
    referrer: null,
    referrerHost: null,
    ...fields,
  };
}

export function createIntakeService(deps: IntakeDeps): IntakeService {
  const { db, recorder, clock } = deps;

  /** Frees a body key whose counted delivery is 24 hours old or older. */
  async function releaseExpired(key: string, now: Date) {
    const holder = await db.downloadEvent.findUnique({ where: { dedupeKey: key }, select: { id: true, occurredAt: true } });
    if (holder && now.getTime() - holder.occurredAt.getTime() >= REPEAT_WINDOW_MS) {
      await db.downloadEvent.updateMany({ where: { id: holder.id, dedupeKey: key }, data: { dedupeKey: `${key}#${holder.id}` } });
    }
  }

  function occurredAt(event: ExternalEvent, index: number, now: Date): Date {
    if (!event.occurredAt) return now;
    const at = new Date(event.occurredAt);
    if (at.getTime() > now.getTime() + FUTURE_TOLERANCE_MS) {
      throw unprocessable(`Event ${index}: occurredAt is in the future.`, { code: 'PAYLOAD_INVALID', details: { index, field: 'occurredAt' } });
    }
    if (now.getTime() - at.getTime() > deps.retentionDays * 86_400_000) {
      throw unprocessable(`Event ${index}: occurredAt is older than the ${deps.retentionDays} days events are kept.`, {
        code: 'PAYLOAD_INVALID',
        details: { index, field: 'occurredAt' },
      });
    }
    return at;
  }

  return {
    async recordCloudRepo(raw, payload) {
      const download = parseCloudRepo(payload);
      const now = clock.now();
      const dedupeKey = download.deliveryId
        ? `cloudrepo:id:${download.deliveryId}`
        : `cloudrepo:body:${crypto.createHash('sha256').update(raw).digest('hex')}`;
      if (!download.deliveryId) await releaseExpired(dedupeKey, now);
      return recorder.record(
        externalRow(now, {
          source: CLOUDREPO_SOURCE,
          repository: download.repository,
          artifact: download.artifact,
          artifactType: download.artifactType,
          dedupeKey,
        }),
      );
    },

    async recordExternal(payload) {
      const events = parseExternalEvents(payload);
      const now = clock.now();
      const rows: DownloadEventRow[] = [];
      for (const [index, event] of events.entries()) {
        let downloadId: number | null = null;
        if (event.download) {
          downloadId = (await deps.downloadIdOf(event.download)) ?? null;
          if (downloadId === null) {
            throw unprocessable(`Event ${index}: there is no download "${event.download}" here.`, { code: 'DOWNLOAD_UNKNOWN', details: { index, field: 'download' } });
          }
        }
        const referrer = event.referrer || null;
        rows.push(
          externalRow(occurredAt(event, index, now), {
            source: `external:${event.source}`,
            downloadId,
            repository: event.repository || null,
            artifact: event.file || null,
            artifactType: event.type ?? (event.file ? classifyArtifact(event.file) : null),
            userAgent: event.userAgent || null,
            agentClass: event.userAgent ? agentClass(event.userAgent) : null,
            referrer,
            referrerHost: referrerHost(referrer ?? undefined),
            dedupeKey: `${event.source}:id:${event.id}`,
          }),
        );
      }
      const stored = await Promise.all(rows.map((row) => recorder.record(row)));
      const accepted = stored.filter(Boolean).length;
      return { accepted, duplicates: stored.length - accepted };
    },
  };
}
