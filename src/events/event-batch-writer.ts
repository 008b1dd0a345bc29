/**
 * Writes one group-commit batch of download events in one transaction: the event rows, the
 * download counters of the counted ones, and rollup increments (hourly and daily counts by
 * dimension). It talks to the driver under Prisma directly because this is the hot path:
 * measured here, Prisma's createMany cost 0.26 ms per event row and $executeRaw 0.07 ms, a
 * prepared better-sqlite3 statement a few microseconds.
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

export function createEventBatchWriter(database: Database, rollupKeys?: RollupKeys): EventBatchWriter {
  return database.driver.kind === 'sqlite'
    ? sqliteWriter(database.driver.exclusive, rollupKeys)
    : postgresWriter(database.driver.pool, rollupKeys);
}

export interface Completion {
  id: string;
  completed: boolean;
  bytesSent: number;
  completedAt: Date;
}

/** Marks events with what the front server delivered (nginx access log ingestion). */
export function createCompletionWriter(database: Database): (rows: Completion[]) => Promise<number> {
  if (database.driver.kind === 'sqlite') {
    const { exclusive } = database.driver;
    return (rows) =>
      exclusive((db) => {
        const update = db.prepare('UPDATE "DownloadEvent" SET "completed" = ?, "bytesSent" = ?, "completedAt" = ? WHERE "id" = ?');
        let changed = 0;
        db.transaction(() => {
          for (const r of rows) changed += update.run(r.completed ? 1 : 0, r.bytesSent, sqliteDate(r.completedAt), r.id).changes;
        }).immediate();
        return changed;
      });
  }
  const { pool } = database.driver;
  return async (rows) => {
    const result = await pool.query(
      `UPDATE "DownloadEvent" AS e SET "completed" = v.completed, "bytesSent" = v.bytes, "completedAt" = v.at
       FROM unnest($1::text[], $2::bool[], $3::bigint[], $4::timestamp(3)[]) AS v(id, completed, bytes, at) WHERE e."id" = v.id`,
      [rows.map((r) => r.id), rows.map((r) => r.completed), rows.map((r) => r.bytesSent), rows.map((r) => pgDate(r.completedAt))],
    );
    return result.rowCount ?? 0;
  };
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

function sqliteWriter(exclusive: Extract<Database['driver'], { kind: 'sqlite' }>['exclusive'], rollupKeys?: RollupKeys): EventBatchWriter {
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
      rollup: db.prepare(
        `INSERT INTO "Rollup" ("granularity", "bucket", "dimension", "key", "count") VALUES (?, ?, ?, ?, ?)
         ON CONFLICT ("granularity", "bucket", "dimension", "key") DO UPDATE SET "count" = "count" + excluded."count"`,
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
        const { counters, rollups } = increments(events.filter((e) => inserted.has(e.id)), retracted, rollupKeys);
        for (const [id, n] of counters) prepared.count.run(n, n, id);
        for (const r of rollups) prepared.rollup.run(r.granularity, sqliteDate(r.bucket), r.dimension, r.key, r.count);
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

function postgresWriter(pool: pg.Pool, rollupKeys?: RollupKeys): EventBatchWriter {
  // One parameter per column (an array of the batch's values): one statement whatever the size.
  const insertSql = `INSERT INTO "DownloadEvent" (${COLUMNS.map(quoted).join(', ')})
    SELECT * FROM unnest(${COLUMNS.map((c, i) => `$${i + 1}::${PG_TYPES[c]}[]`).join(', ')})
    ON CONFLICT DO NOTHING RETURNING "id"`;
  const countSql = `UPDATE "Download" AS d SET "downloadCount" = d."downloadCount" + v.n, "fileDownloadCount" = d."fileDownloadCount" + v.n
    FROM unnest($1::int[], $2::bigint[]) AS v(id, n) WHERE d."id" = v.id`;
  const rollupSql = `INSERT INTO "Rollup" ("granularity", "bucket", "dimension", "key", "count")
    SELECT * FROM unnest($1::text[], $2::timestamp(3)[], $3::text[], $4::text[], $5::bigint[])
    ON CONFLICT ("granularity", "bucket", "dimension", "key") DO UPDATE SET "count" = "Rollup"."count" + EXCLUDED."count"`;

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
      const { counters, rollups } = increments(events.filter((e) => inserted.has(e.id)), retracted, rollupKeys);
      if (counters.length) await client.query(countSql, [counters.map(([id]) => id), counters.map(([, n]) => n)]);
      if (rollups.length) {
        await client.query(rollupSql, [
          rollups.map((r) => r.granularity),
          rollups.map((r) => pgDate(r.bucket)),
          rollups.map((r) => r.dimension),
          rollups.map((r) => r.key),
          rollups.map((r) => r.count),
        ]);
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
