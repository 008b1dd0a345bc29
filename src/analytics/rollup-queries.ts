/**
 * Reads of the Rollup table: sums per key over a range, and per-bucket values. Every analytics
 * page and the stats API read these, never the raw events, so their cost follows the number of
 * buckets and keys in a range, not the number of downloads.
 */
import type { Db } from '../db.ts';
import type { DateRange, Granularity } from './date-range.ts';

export interface KeyCount {
  key: string;
  count: number;
}

export interface BucketCount {
  bucket: Date;
  key: string;
  count: number;
}

export interface RollupQueries {
  /** Keys by their sum over the range, largest first (then by key); keys summing to 0 are left out. */
  sumByKey(dimension: string, range: DateRange, options?: { granularity?: Granularity; take?: number }): Promise<KeyCount[]>;
  /** The sum of a dimension over the range (every key). */
  total(dimension: string, range: DateRange, granularity?: Granularity): Promise<number>;
  /** Every non-empty bucket of the dimension in the range. */
  buckets(dimension: string, range: DateRange, granularity: Granularity): Promise<BucketCount[]>;
}

export function createRollupQueries(db: Db): RollupQueries {
  const where = (granularity: Granularity, dimension: string, range: DateRange) => ({
    granularity,
    dimension,
    bucket: { gte: range.from, lt: range.to },
  });

  return {
    async sumByKey(dimension, range, options = {}) {
      const rows = await db.rollup.groupBy({
        by: ['key'],
        where: where(options.granularity ?? 'day', dimension, range),
        _sum: { count: true },
        having: { count: { _sum: { not: 0 } } },
        orderBy: [{ _sum: { count: 'desc' } }, { key: 'asc' }],
        take: options.take,
      });
      return rows.map((r) => ({ key: r.key, count: Number(r._sum.count ?? 0) }));
    },

    async total(dimension, range, granularity = 'day') {
      const result = await db.rollup.aggregate({ where: where(granularity, dimension, range), _sum: { count: true } });
      return Number(result._sum.count ?? 0);
    },

    async buckets(dimension, range, granularity) {
      const rows = await db.rollup.findMany({
        where: { ...where(granularity, dimension, range), count: { not: 0 } },
        select: { bucket: true, key: true, count: true },
        orderBy: [{ bucket: 'asc' }, { key: 'asc' }],
      });
      return rows.map((r) => ({ bucket: r.bucket, key: r.key, count: Number(r.count) }));
    },
  };
}
