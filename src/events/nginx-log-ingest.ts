/**
 * Reads nginx's `downloads_json` access log (nginx/README.md) and closes the loop the app cannot
 * see in LOCAL mode: which downloads nginx delivered in full, how many bytes went out, and which
 * counted requests never got an answer because the client left first (status 499) — those are
 * taken back, so the stored count equals the downloads nginx answered.
 *
 * Idempotent: reading the same lines again changes nothing.
 */
import readline from 'node:readline';
import type { Readable } from 'node:stream';
import type { Db } from '../db.ts';
import type { DownloadEventRow, DownloadRecorder } from './download-recorder.ts';
import type { Completion } from './event-batch-writer.ts';
import { eventIdFloor, eventIdSuffix } from '../lib/event-ids.ts';

const EVENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CHUNK = 1000;

export interface IngestReport {
  lines: number;
  /** lines that carry a download event id */
  events: number;
  completed: number;
  abandoned: number;
  /** counted events taken back: nginx answered 499 (the client left before any answer) */
  retracted: number;
  /** event ids the database does not know (another instance's database, pruned events) */
  unknown: number;
  /** lines that are not JSON objects of the downloads_json format */
  malformed: number;
}

interface LogLine {
  /** the app's X-Download-Event; absent on a 499 that came before the app's answer */
  event?: string;
  /** for such a 499: nginx's request id and when the request started (ms) */
  requestId?: string;
  startedAt?: number;
  status: number;
  bytes: number;
  complete: boolean;
  at: Date;
}

function parseLine(text: string): LogLine | 'malformed' | undefined {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return 'malformed';
  }
  if (!raw || typeof raw !== 'object' || typeof raw.status !== 'string') return 'malformed';
  const msec = Number(raw.msec);
  const event = typeof raw.event === 'string' && EVENT_ID.test(raw.event) ? raw.event : undefined;
  // A 499 before the app answered has no X-Download-Event; its event is found through the
  // request id the app received from nginx (lib/event-ids.ts).
  const orphan =
    !event && raw.status === '499' && String(raw.path).endsWith('/file') && typeof raw.request_id === 'string' && /^[0-9a-f]{32}$/.test(raw.request_id);
  if (!event && !orphan) return undefined;
  return {
    event,
    requestId: orphan ? (raw.request_id as string) : undefined,
    startedAt: orphan ? (msec - (Number(raw.request_time) || 0)) * 1000 : undefined,
    status: Number(raw.status),
    bytes: Math.max(0, Number(raw.body_bytes_sent) || 0),
    complete: raw.request_completion === 'OK',
    at: Number.isFinite(msec) && msec > 0 ? new Date(msec * 1000) : new Date(),
  };
}

export function createNginxLogIngest(deps: {
  db: Db;
  recorder: DownloadRecorder;
  complete: (rows: Completion[]) => Promise<number>;
  /** gives back a token use whose download never reached the client */
  refundToken?: (tokenId: number) => Promise<void>;
}) {
  const { db, recorder, complete, refundToken } = deps;

  /** The event of a 499 line without an event id: its request id suffix, in its time window. */
  async function findOrphan(line: LogLine) {
    const from = line.startedAt! - 2000;
    const candidates = await db.downloadEvent.findMany({
      where: { id: { gte: eventIdFloor(from), lt: eventIdFloor(from + 2000 + (line.at.getTime() - line.startedAt!) + 2000), endsWith: eventIdSuffix(line.requestId!) } },
    });
    return candidates.length === 1 ? candidates[0] : undefined;
  }

  async function apply(lines: LogLine[], report: IngestReport) {
    const ids = lines.map((l) => l.event).filter((id): id is string => !!id);
    const known = new Map((await db.downloadEvent.findMany({ where: { id: { in: ids } } })).map((e) => [e.id, e]));
    const completions: Completion[] = [];
    for (const line of lines) {
      const event = line.event ? known.get(line.event) : await findOrphan(line);
      if (!event) {
        report.unknown++;
        continue;
      }
      const delivered = line.complete && (line.status === 200 || line.status === 206);
      if (delivered) report.completed++;
      else if (line.status === 200 || line.status === 206) report.abandoned++;
      completions.push({ id: event.id, completed: delivered, bytesSent: line.bytes, completedAt: line.at });
      if (line.status === 499 && event.counted) {
        report.retracted++;
        recorder.retract(event as DownloadEventRow);
        if (event.tokenId !== null) await refundToken?.(event.tokenId);
      }
    }
    if (completions.length) await complete(completions);
  }

  return async function ingest(input: Readable): Promise<IngestReport> {
    const report: IngestReport = { lines: 0, events: 0, completed: 0, abandoned: 0, retracted: 0, unknown: 0, malformed: 0 };
    let pending: LogLine[] = [];
    for await (const text of readline.createInterface({ input, crlfDelay: Infinity })) {
      if (!text.trim()) continue;
      report.lines++;
      const line = parseLine(text);
      if (line === 'malformed') report.malformed++;
      else if (line) {
        report.events++;
        pending.push(line);
        if (pending.length >= CHUNK) {
          await apply(pending, report);
          pending = [];
        }
      }
    }
    if (pending.length) await apply(pending, report);
    await recorder.drain();
    return report;
  };
}
