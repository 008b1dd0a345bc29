/**
 * Writes one group-commit batch of download events in one transaction: the event rows, the
 * download counters of the counted ones, rollup increments (hourly and daily counts by
 * dimension: analytics/rollup-dimensions.ts), and the webhook outbox rows that report them.
 * It talks to the driver under Prisma directly because this is the hot path: measured here,
 * Prisma's createMany cost 0.26 ms per event row and $executeRaw 0.07 ms, a prepared
 * better-sqlite3 statement a few microseconds.
 *
 * Events whose dedupeKey (a repeated webhook delivery) or id is already stored are skipped, and
 * only inserted events move counters and rollups. Counters and rollups only ever move by increments
 * inside the transaction that stores what they count, so no count is lost or doubled.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import type { Database } from '../db.ts';
import type { DownloadEventRow } from './download-recorder.ts';

export type RollupKeys = (event: DownloadEventRow) => [dimension: string, key: string][];

/** A webhook outbox row (WebhookDelivery) written with the events it reports. */
export interface OutboxRow {
  endpointId: number;
  eventType: string;
  payload: string;
  at: Date;
}

export interface BatchHooks {
  /** Runs before each batch's transaction: loads what rollupKeys and outbox read synchronously. */
  prepare?(events: DownloadEventRow[]): Promise<void> | undefined;
  /** Outbox rows for the events just inserted (download.requested), in the same transaction. */
  outbox?(inserted: DownloadEventRow[]): OutboxRow[];
}

interface RollupIncrement {
  granularity: 'hour' | 'day';
  bucket: Date;
  dimension: string;
  key: string;
  count: number;
}

/**
 * Writes the batch — new events, and retractions of counted events whose client went away
 * before the answer could be handed over — and resolves with the ids of the events inserted.
 */
export type EventBatchWriter = (events: DownloadEventRow[], retractions?: DownloadEventRow[]) => Promise<Set<string>>;

const COLUMNS = [
  'id', 'occurredAt', 'downloadId', 'source', 'outcome', 'reason', 'counted', 'method', 'status', 'rangeStart',
  'rangeEnd', 'userId', 'tokenId', 'bypass', 'ip', 'userAgent', 'agentClass', 'referrer', 'referrerHost',
  'repository', 'artifact', 'artifactType', 'dedupeKey',
] as const;
type Column = (typeof COLUMNS)[number];

const quoted = (name: string) => `"${name}"`;

/** Rollup dimensions that count downloads (retracted with the download), as opposed to requests. */
export const COUNTED_DIMENSIONS = new Set(['download', 'category', 'label', 'repository', 'type', 'source', 'total', 'agent', 'referrer']);

/** What a retracted event becomes. */
export const RETRACTED = { outcome: 'not_counted', reason: 'client_gone' } as const;

export function hourOf(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 3_600_000) * 3_600_000);
}

export function dayOf(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

/**
 * Counter and rollup increments of the inserted events (+1 each) and of the retracted ones
 * (-1 for what they had counted), in a fixed order.
 */
function increments(added: DownloadEventRow[], retracted: DownloadEventRow[], rollupKeys: RollupKeys | undefined) {
  const counters = new Map<number, number>();
  const rollups = new Map<string, RollupIncrement>();
  const apply = (event: DownloadEventRow, sign: 1 | -1, keys: [string, string][]) => {
    if (event.counted && event.downloadId !== null) counters.set(event.downloadId, (counters.get(event.downloadId) ?? 0) + sign);
    for (const [dimension, key] of keys) {
      for (const [granularity, bucket] of [['hour', hourOf(event.occurredAt)], ['day', dayOf(event.occurredAt)]] as const) {
        const id = `${granularity}|${bucket.getTime()}|${dimension}|${key}`;
        const current = rollups.get(id);
        if (current) current.count += sign;
        else rollups.set(id, { granularity, bucket, dimension, key, count: sign });
      }
    }
  };
  for (const event of added) apply(event, 1, rollupKeys?.(event) ?? []);
  // A retraction takes back what the event counted; its other rollups (refusals, agents, …)
  // stay: the request did happen.
  for (const event of retracted) apply(event, -1, (rollupKeys?.(event) ?? []).filter(([dimension]) => COUNTED_DIMENSIONS.has(dimension)));
  // Rows are always locked in the same order, so two instances cannot deadlock each other.
  return {
    counters: [...counters].sort((a, b) => a[0] - b[0]),
    rollups: [...rollups.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([, r]) => r),
  };
}

export function createEventBatchWriter(database: Database, rollupKeys?: RollupKeys, hooks: BatchHooks = {}): EventBatchWriter {
  const write =
    database.driver.kind === 'sqlite'
      ? sqliteWriter(database.driver.exclusive, rollupKeys, hooks.outbox)
      : postgresWriter(database.driver.pool, rollupKeys, hooks.outbox);
  if (!hooks.prepare) return write;
  const prepare = hooks.prepare;
  return async (events, retractions = []) => {
    await prepare(retractions.length ? [...events, ...retractions] : events);
    return write(events, retractions);
  };
}

export interface Completion {
  id: string;
  completed: boolean;
  bytesSent: number;
  completedAt: Date;
}

/** An event's delivery state before and after a completion is written. */
interface CompletionChange {
  occurredAt: Date;
  counted: boolean;
  wasCompleted: boolean;
  wasBytes: number;
  completed: boolean;
  bytes: number;
}

/**
 * Rollups of what nginx delivered, at the hour and day the download started (so started and
 * completed downloads of a period compare): `completed` counts counted downloads delivered in
 * full, `bytes` the bytes sent for any request. Only changes move them, so reading a log twice
 * adds nothing.
 */
function completionIncrements(changes: CompletionChange[]): RollupIncrement[] {
  const rollups = new Map<string, RollupIncrement>();
  const add = (at: Date, dimension: string, n: number) => {
    if (n === 0) return;
    for (const [granularity, bucket] of [['hour', hourOf(at)], ['day', dayOf(at)]] as const) {
      const id = `${granularity}|${bucket.getTime()}|${dimension}`;
      const current = rollups.get(id);
      if (current) current.count += n;
      else rollups.set(id, { granularity, bucket, dimension, key: 'all', count: n });
    }
  };
  for (const c of changes) {
    if (c.counted) add(c.occurredAt, 'completed', Number(c.completed) - Number(c.wasCompleted));
    add(c.occurredAt, 'bytes', c.bytes - c.wasBytes);
  }
  return [...rollups.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([, r]) => r);
}

/**
 * Marks events with what the front server delivered (nginx access log ingestion), and moves the
 * `completed` and `bytes` rollups by the difference, in one transaction.
 */
export function createCompletionWriter(database: Database): (rows: Completion[]) => Promise<number> {
  if (database.driver.kind === 'sqlite') {
    const { exclusive } = database.driver;
    return (rows) =>
      exclusive((db) => {
        const read = db.prepare('SELECT "occurredAt", "counted", "completed", "bytesSent" FROM "DownloadEvent" WHERE "id" = ?');
        const update = db.prepare('UPDATE "DownloadEvent" SET "completed" = ?, "bytesSent" = ?, "completedAt" = ? WHERE "id" = ?');
        const rollup = db.prepare(SQLITE_ROLLUP);
        let changed = 0;
        db.transaction(() => {
          const changes: CompletionChange[] = [];
          for (const r of rows) {
            const before = read.get(r.id) as { occurredAt: string; counted: number; completed: number | null; bytesSent: number | null } | undefined;
            if (!before) continue;
            changed += update.run(r.completed ? 1 : 0, r.bytesSent, sqliteDate(r.completedAt), r.id).changes;
            changes.push({
              occurredAt: new Date(before.occurredAt),
              counted: before.counted === 1,
              wasCompleted: before.completed === 1,
              wasBytes: Number(before.bytesSent ?? 0),
              completed: r.completed,
              bytes: r.bytesSent,
            });
          }
          for (const i of completionIncrements(changes)) rollup.run(i.granularity, sqliteDate(i.bucket), i.dimension, i.key, i.count);
        }).immediate();
        return changed;
      });
  }
  const { pool } = database.driver;
  return async (rows) => {
    const byId = new Map(rows.map((r) => [r.id, r]));
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      // Locked first: two ingestions of the same log must not both see "not completed yet".
      const before = await client.query<{ id: string; ms: string; counted: boolean; completed: boolean | null; bytesSent: string | null }>(
        `SELECT "id", (EXTRACT(EPOCH FROM "occurredAt") * 1000)::bigint AS ms, "counted", "completed", "bytesSent"
           FROM "DownloadEvent" WHERE "id" = ANY($1::text[]) ORDER BY "id" FOR UPDATE`,
        [[...byId.keys()]],
      );
      const result = await client.query(
        `UPDATE "DownloadEvent" AS e SET "completed" = v.completed, "bytesSent" = v.bytes, "completedAt" = v.at
         FROM unnest($1::text[], $2::bool[], $3::bigint[], $4::timestamp(3)[]) AS v(id, completed, bytes, at) WHERE e."id" = v.id`,
        [rows.map((r) => r.id), rows.map((r) => r.completed), rows.map((r) => r.bytesSent), rows.map((r) => pgDate(r.completedAt))],
      );
      await pgRollups(
        client,
        completionIncrements(
          before.rows.map((b) => ({
            occurredAt: new Date(Number(b.ms)),
            counted: b.counted,
            wasCompleted: b.completed === true,
            wasBytes: Number(b.bytesSent ?? 0),
            completed: byId.get(b.id)!.completed,
            bytes: byId.get(b.id)!.bytesSent,
          })),
        ),
      );
      await client.query('COMMIT');
      return result.rowCount ?? 0;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };
}

const SQLITE_ROLLUP = `INSERT INTO "Rollup" ("granularity", "bucket", "dimension", "key", "count") VALUES (?, ?, ?, ?, ?)
  ON CONFLICT ("granularity", "bucket", "dimension", "key") DO UPDATE SET "count" = "count" + excluded."count"`;

const PG_ROLLUP = `INSERT INTO "Rollup" ("granularity", "bucket", "dimension", "key", "count")
  SELECT * FROM unnest($1::text[], $2::timestamp(3)[], $3::text[], $4::text[], $5::bigint[])
  ON CONFLICT ("granularity", "bucket", "dimension", "key") DO UPDATE SET "count" = "Rollup"."count" + EXCLUDED."count"`;

async function pgRollups(client: pg.PoolClient, rollups: RollupIncrement[]): Promise<void> {
  if (!rollups.length) return;
  await client.query(PG_ROLLUP, [
    rollups.map((r) => r.granularity),
    rollups.map((r) => pgDate(r.bucket)),
    rollups.map((r) => r.dimension),
    rollups.map((r) => r.key),
    rollups.map((r) => r.count),
  ]);
}

// --- SQLite ----------------------------------------------------------------------------------

/** How Prisma's SQLite adapter stores DateTime: ISO 8601 with milliseconds and +00:00. */
const sqliteDate = (d: Date) => d.toISOString().replace('Z', '+00:00');

/** The row's values in COLUMNS order, written into `into` (reused across rows). */
function sqliteValues(event: DownloadEventRow, into: unknown[]): unknown[] {
  for (let i = 0; i < COLUMNS.length; i++) {
    const value = event[COLUMNS[i]!];
    into[i] =
      value === undefined || value === null
        ? null
        : value instanceof Date
          ? sqliteDate(value)
          : typeof value === 'boolean'
            ? Number(value)
            : value;
  }
  return into;
}

type Exclusive = Extract<Database['driver'], { kind: 'sqlite' }>['exclusive'];

function sqliteWriter(exclusive: Exclusive, rollupKeys?: RollupKeys, outbox?: BatchHooks['outbox']): EventBatchWriter {
  const statements = new WeakMap<BetterSqlite3.Database, ReturnType<typeof prepare>>();
  function prepare(db: BetterSqlite3.Database) {
    return {
      insert: db.prepare(
        `INSERT INTO "DownloadEvent" (${COLUMNS.map(quoted).join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})
         ON CONFLICT DO NOTHING`,
      ),
      count: db.prepare(
        'UPDATE "Download" SET "downloadCount" = "downloadCount" + ?, "fileDownloadCount" = "fileDownloadCount" + ? WHERE "id" = ?',
      ),
      retract: db.prepare(
        `UPDATE "DownloadEvent" SET "counted" = 0, "outcome" = '${RETRACTED.outcome}', "reason" = '${RETRACTED.reason}'
         WHERE "id" = ? AND "counted" = 1`,
      ),
      rollup: db.prepare(SQLITE_ROLLUP),
      outbox: db.prepare(
        `INSERT INTO "WebhookDelivery" ("endpointId", "eventType", "payload", "status", "attempts", "nextAttemptAt", "createdAt")
         VALUES (?, ?, ?, 'pending', 0, ?, ?)`,
      ),
    };
  }

  return (events, retractions = []) =>
    exclusive((db) => {
      let s = statements.get(db);
      if (!s) statements.set(db, (s = prepare(db)));
      const prepared = s;
      const inserted = new Set<string>();
      const values: unknown[] = new Array(COLUMNS.length);
      db.transaction(() => {
        for (const event of events) {
          if (prepared.insert.run(sqliteValues(event, values)).changes === 1) inserted.add(event.id);
        }
        const retracted = retractions.filter((e) => prepared.retract.run(e.id).changes === 1);
        const added = events.filter((e) => inserted.has(e.id));
        const { counters, rollups } = increments(added, retracted, rollupKeys);
        for (const [id, n] of counters) prepared.count.run(n, n, id);
        for (const r of rollups) prepared.rollup.run(r.granularity, sqliteDate(r.bucket), r.dimension, r.key, r.count);
        if (outbox && added.length) {
          for (const row of outbox(added)) prepared.outbox.run(row.endpointId, row.eventType, row.payload, sqliteDate(row.at), sqliteDate(row.at));
        }
      }).immediate();
      return inserted;
    });
}

// --- PostgreSQL ------------------------------------------------------------------------------

const PG_TYPES: Record<Column, string> = {
  id: 'text', occurredAt: 'timestamp(3)', downloadId: 'int', source: 'text', outcome: 'text', reason: 'text',
  counted: 'bool', method: 'text', status: 'int', rangeStart: 'bigint', rangeEnd: 'bigint', userId: 'int',
  tokenId: 'int', bypass: 'bool', ip: 'text', userAgent: 'text', agentClass: 'text', referrer: 'text',
  referrerHost: 'text', repository: 'text', artifact: 'text', artifactType: 'text', dedupeKey: 'text',
};

/** Timestamps are stored as UTC in `timestamp without time zone` columns, as Prisma does. */
const pgDate = (d: Date) => d.toISOString().replace('Z', '');

function pgValue(column: Column, event: DownloadEventRow): unknown {
  const value = event[column];
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return pgDate(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

function postgresWriter(pool: pg.Pool, rollupKeys?: RollupKeys, outbox?: BatchHooks['outbox']): EventBatchWriter {
  // One parameter per column (an array of the batch's values): one statement whatever the size.
  const insertSql = `INSERT INTO "DownloadEvent" (${COLUMNS.map(quoted).join(', ')})
    SELECT * FROM unnest(${COLUMNS.map((c, i) => `$${i + 1}::${PG_TYPES[c]}[]`).join(', ')})
    ON CONFLICT DO NOTHING RETURNING "id"`;
  const countSql = `UPDATE "Download" AS d SET "downloadCount" = d."downloadCount" + v.n, "fileDownloadCount" = d."fileDownloadCount" + v.n
    FROM unnest($1::int[], $2::bigint[]) AS v(id, n) WHERE d."id" = v.id`;
  const outboxSql = `INSERT INTO "WebhookDelivery" ("endpointId", "eventType", "payload", "status", "attempts", "nextAttemptAt", "createdAt")
    SELECT v.e, v.t, v.p, 'pending', 0, v.at, v.at FROM unnest($1::int[], $2::text[], $3::text[], $4::timestamp(3)[]) AS v(e, t, p, at)`;

  const retractSql = `UPDATE "DownloadEvent" SET "counted" = false, "outcome" = '${RETRACTED.outcome}', "reason" = '${RETRACTED.reason}'
    WHERE "id" = ANY($1::text[]) AND "counted" = true RETURNING "id"`;

  return async (events, retractions = []) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await client.query<{ id: string }>(insertSql, COLUMNS.map((c) => events.map((e) => pgValue(c, e))));
      const inserted = new Set(result.rows.map((r) => r.id));
      let retracted: DownloadEventRow[] = [];
      if (retractions.length) {
        const taken = new Set((await client.query<{ id: string }>(retractSql, [retractions.map((e) => e.id)])).rows.map((r) => r.id));
        retracted = [...new Map(retractions.filter((e) => taken.has(e.id)).map((e) => [e.id, e])).values()];
      }
      const added = events.filter((e) => inserted.has(e.id));
      const { counters, rollups } = increments(added, retracted, rollupKeys);
      if (counters.length) await client.query(countSql, [counters.map(([id]) => id), counters.map(([, n]) => n)]);
      await pgRollups(client, rollups);
      const rows = outbox && added.length ? outbox(added) : [];
      if (rows.length) {
        await client.query(outboxSql, [rows.map((r) => r.endpointId), rows.map((r) => r.eventType), rows.map((r) => r.payload), rows.map((r) => pgDate(r.at))]);
      }
      await client.query('COMMIT');
      return inserted;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };
}
