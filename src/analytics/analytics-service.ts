/**
 * The read side of analytics: the dashboard (as sections, so the page and its CSV export show
 * the same rows) and the stats API, both computed from rollups only.
 */
import type { Db } from '../db.ts';
import { ARTIFACT_TYPES } from './artifact-types.ts';
import { alignedTo, bucketsOf, isoDay, previousRange, DAY_MS, type DateRange, type Granularity } from './date-range.ts';
import { agentLabel, outcomeLabel, referrerLabel, refusalLabel, sourceLabel, typeLabel } from './dimension-labels.ts';
import { createRollupQueries, type KeyCount } from './rollup-queries.ts';
import { ALL, DIMENSIONS } from './rollup-dimensions.ts';

export interface SectionRow {
  key: string;
  label: string;
  values: number[];
}

/** One table of the dashboard (and its lines of the CSV export). */
export interface Section {
  id: string;
  title: string;
  /** the heading of the label column, then of each value column */
  columns: [string, ...string[]];
  rows: SectionRow[];
  note?: string;
}

export interface Dashboard {
  range: DateRange;
  previous: DateRange;
  /** the last day in the range (ranges are shown with both ends included) */
  lastDay: Date;
  granularity: Granularity;
  sections: Section[];
}

export const TOP = 10;
export const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const HOURS = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0'));

export const STATS_GROUPS = ['day', 'hour', 'download', 'repo', 'type', 'label', 'category', 'source', 'referrer', 'agent'] as const;
export type StatsGroup = (typeof STATS_GROUPS)[number];

export interface StatsItem {
  key: string;
  count: number;
  slug?: string | null;
  title?: string | null;
}

export interface Stats {
  from: string;
  to: string;
  groupBy: StatsGroup;
  total: number;
  items: StatsItem[];
}

const bucketKey = (d: Date, g: Granularity) => (g === 'day' ? isoDay(d) : `${d.toISOString().slice(0, 13).replace('T', ' ')}:00`);

export function createAnalyticsService(deps: { db: Db }) {
  const { db } = deps;
  const q = createRollupQueries(db);

  async function downloadNames(ids: string[]) {
    const rows = await db.download.findMany({ where: { id: { in: ids.map(Number).filter(Number.isSafeInteger) } }, select: { id: true, slug: true, title: true } });
    return new Map(rows.map((r) => [String(r.id), r]));
  }

  async function categoryNames(ids: string[]) {
    const rows = await db.category.findMany({ where: { id: { in: ids.map(Number).filter(Number.isSafeInteger) } }, select: { id: true, title: true } });
    return new Map(rows.map((r) => [String(r.id), r.title]));
  }

  const single = (rows: KeyCount[], label: (key: string) => string): SectionRow[] => rows.map((r) => ({ key: r.key, label: label(r.key), values: [r.count] }));

  async function totalsSection(range: DateRange, previous: DateRange): Promise<Section> {
    const both = async <T>(read: (r: DateRange) => Promise<T>) => Promise.all([read(range), read(previous)]);
    const [downloads, agents, sources, completed, bytes, refusals] = await Promise.all([
      both((r) => q.total(DIMENSIONS.total, r)),
      both((r) => q.sumByKey(DIMENSIONS.agent, r)),
      both((r) => q.sumByKey(DIMENSIONS.source, r)),
      both((r) => q.total(DIMENSIONS.completed, r)),
      both((r) => q.total(DIMENSIONS.bytes, r)),
      both((r) => q.total(DIMENSIONS.refusal, r)),
    ]);
    const of = (rows: KeyCount[], key: string) => rows.find((r) => r.key === key)?.count ?? 0;
    const external = (rows: KeyCount[]) => rows.filter((r) => r.key !== 'server').reduce((sum, r) => sum + r.count, 0);
    const row = (key: string, label: string, values: [number, number]) => ({ key, label, values });
    return {
      id: 'totals',
      title: 'Totals',
      columns: ['', 'This period', 'Previous period'],
      rows: [
        row('downloads', 'Downloads', downloads),
        row('human', 'Human', [of(agents[0], 'human'), of(agents[1], 'human')]),
        row('bot', 'Bot', [of(agents[0], 'bot'), of(agents[1], 'bot')]),
        row('server', 'From this server', [of(sources[0], 'server'), of(sources[1], 'server')]),
        row('external', 'External', [external(sources[0]), external(sources[1])]),
        row('completed', 'Completed transfers', completed),
        row('bytes', 'Bytes sent', bytes),
        row('refused', 'Refused attempts', refusals),
      ],
      note: 'Completed transfers and bytes sent come from the nginx access log (npm run cli -- ingest-nginx-log); downloads count when they start.',
    };
  }

  async function overTimeSection(range: DateRange, granularity: Granularity): Promise<Section> {
    const rows = await q.buckets(DIMENSIONS.source, range, granularity);
    const totals = new Map<string, number>([['server', 0]]);
    for (const r of rows) totals.set(r.key, (totals.get(r.key) ?? 0) + r.count);
    const sources = [...totals.keys()].sort((a, b) => (a === 'server' ? -1 : b === 'server' ? 1 : totals.get(b)! - totals.get(a)! || (a < b ? -1 : 1)));
    const index = new Map(sources.map((s, i) => [s, i]));
    const byBucket = new Map<number, number[]>();
    for (const r of rows) {
      let values = byBucket.get(r.bucket.getTime());
      if (!values) byBucket.set(r.bucket.getTime(), (values = sources.map(() => 0)));
      values[index.get(r.key)!]! += r.count;
    }
    return {
      id: 'over-time',
      title: 'Downloads over time',
      columns: [granularity === 'day' ? 'Day' : 'Hour (UTC)', ...sources.map(sourceLabel)],
      rows: bucketsOf(range, granularity).map((b) => ({ key: b.toISOString(), label: bucketKey(b, granularity), values: byBucket.get(b.getTime()) ?? sources.map(() => 0) })),
    };
  }

  async function heatmapSection(range: DateRange): Promise<Section> {
    const cells = WEEKDAYS.map(() => HOURS.map(() => 0));
    for (const r of await q.buckets(DIMENSIONS.total, range, 'hour')) {
      cells[(r.bucket.getUTCDay() + 6) % 7]![r.bucket.getUTCHours()]! += r.count;
    }
    return {
      id: 'heatmap',
      title: 'Hour of day × weekday (UTC)',
      columns: ['', ...HOURS],
      rows: WEEKDAYS.map((day, i) => ({ key: day, label: day, values: cells[i]! })),
    };
  }

  async function topDownloads(range: DateRange): Promise<Section> {
    const rows = await q.sumByKey(DIMENSIONS.download, range, { take: TOP });
    const names = await downloadNames(rows.map((r) => r.key));
    return {
      id: 'downloads',
      title: 'Top downloads',
      columns: ['Download', 'Downloads'],
      rows: single(rows, (key) => names.get(key)?.title ?? `Deleted download #${key}`),
    };
  }

  async function categories(range: DateRange): Promise<Section> {
    const rows = await q.sumByKey(DIMENSIONS.category, range, { take: TOP });
    const names = await categoryNames(rows.map((r) => r.key));
    return {
      id: 'categories',
      title: 'By category',
      columns: ['Category', 'Downloads'],
      rows: single(rows, (key) => names.get(key) ?? `Deleted category #${key}`),
      note: 'A download in several categories counts in each.',
    };
  }

  const simple = (id: string, title: string, dimension: string, column: string, label: (key: string) => string, take: number | undefined = TOP, note?: string) =>
    async (range: DateRange): Promise<Section> => ({ id, title, columns: [column, 'Downloads'], rows: single(await q.sumByKey(dimension, range, { take }), label), note });

  async function types(range: DateRange): Promise<Section> {
    const rows = await q.sumByKey(DIMENSIONS.type, range);
    const known = ARTIFACT_TYPES.map((t) => ({ key: t, count: rows.find((r) => r.key === t)?.count ?? 0 }));
    const others = rows.filter((r) => !(ARTIFACT_TYPES as readonly string[]).includes(r.key));
    return { id: 'types', title: 'By type', columns: ['Type', 'Downloads'], rows: single([...known, ...others], typeLabel) };
  }

  /** In the order the page shows them (the CSV follows the same order). */
  const sectionsOf = [
    simple('agents', 'Human and bot traffic', DIMENSIONS.agent, 'User agent', agentLabel, undefined, 'User agents are classified with isbot when the download happens.'),
    simple('sources', 'By source', DIMENSIONS.source, 'Source', sourceLabel, undefined),
    topDownloads,
    types,
    categories,
    simple('labels', 'By label', DIMENSIONS.label, 'Label', (k) => k, TOP, 'A download with several labels counts for each.'),
    simple('repositories', 'By repository', DIMENSIONS.repository, 'Repository', (k) => k),
    simple('referrers', 'By referring site', DIMENSIONS.referrer, 'Referrer host', referrerLabel),
  ];

  return {
    queries: q,

    async dashboard(range: DateRange): Promise<Dashboard> {
      const previous = previousRange(range);
      // Two days or less are drawn by the hour, longer ranges by the day.
      const granularity: Granularity = range.to.getTime() - range.from.getTime() <= 2 * DAY_MS ? 'hour' : 'day';
      const refusals: Section = {
        id: 'refusals',
        title: 'Refused attempts by reason',
        columns: ['Reason', 'Attempts'],
        rows: single(await q.sumByKey(DIMENSIONS.refusal, range), refusalLabel),
      };
      const outcomes: Section = {
        id: 'outcomes',
        title: 'Requests by outcome',
        columns: ['Outcome', 'Requests'],
        rows: single(await q.sumByKey(DIMENSIONS.outcome, range), outcomeLabel),
      };
      const sections = [
        await totalsSection(range, previous),
        await overTimeSection(range, granularity),
        await heatmapSection(range),
        ...(await Promise.all(sectionsOf.map((read) => read(range)))),
        refusals,
        outcomes,
      ];
      return { range, previous, lastDay: new Date(range.to.getTime() - DAY_MS), granularity, sections };
    },

    async stats(range: DateRange, groupBy: StatsGroup, limit = 100): Promise<Stats> {
      const granularity: Granularity = groupBy === 'hour' ? 'hour' : groupBy === 'day' ? 'day' : alignedTo(range);
      const total = await q.total(DIMENSIONS.total, range, granularity);
      let items: StatsItem[];
      if (groupBy === 'day' || groupBy === 'hour') {
        const counts = new Map((await q.buckets(DIMENSIONS.total, range, granularity)).filter((r) => r.key === ALL).map((r) => [r.bucket.getTime(), r.count]));
        items = bucketsOf(range, granularity).map((b) => ({ key: groupBy === 'day' ? isoDay(b) : b.toISOString().replace('.000Z', 'Z'), count: counts.get(b.getTime()) ?? 0 }));
      } else {
        const dimension = { download: DIMENSIONS.download, repo: DIMENSIONS.repository, type: DIMENSIONS.type, label: DIMENSIONS.label, category: DIMENSIONS.category, source: DIMENSIONS.source, referrer: DIMENSIONS.referrer, agent: DIMENSIONS.agent }[groupBy];
        const rows = await q.sumByKey(dimension, range, { granularity, take: limit });
        items = rows.map((r) => ({ key: r.key, count: r.count }));
        if (groupBy === 'download') {
          const names = await downloadNames(rows.map((r) => r.key));
          items = items.map((i) => ({ key: i.key, slug: names.get(i.key)?.slug ?? null, title: names.get(i.key)?.title ?? null, count: i.count }));
        }
        if (groupBy === 'category') {
          const names = await categoryNames(rows.map((r) => r.key));
          items = items.map((i) => ({ key: i.key, title: names.get(i.key) ?? null, count: i.count }));
        }
      }
      return { from: range.from.toISOString(), to: range.to.toISOString(), groupBy, total, items };
    },
  };
}

export type AnalyticsService = ReturnType<typeof createAnalyticsService>;
