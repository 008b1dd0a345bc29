/**
 * What the dashboard page and its CSV export are made of, from one Dashboard: the CSV has a line
 * per table cell the page shows (section, row, column, value), so the export is exactly the
 * tables on the screen; the charts draw the same numbers.
 */
import { toCsv, type CsvCell } from '../lib/csv.ts';
import type { Dashboard, Section } from './analytics-service.ts';
import { isoDay } from './date-range.ts';

export interface ChartSpec {
  type: 'line' | 'bar' | 'doughnut';
  horizontal?: boolean;
  stacked?: boolean;
  labels: string[];
  datasets: { label: string; data: number[] }[];
}

const section = (d: Dashboard, id: string): Section => d.sections.find((s) => s.id === id)!;

function oneSeries(s: Section, type: ChartSpec['type'], horizontal = false): ChartSpec {
  return { type, horizontal, labels: s.rows.map((r) => r.label), datasets: [{ label: s.columns[1] ?? '', data: s.rows.map((r) => r.values[0]!) }] };
}

/** Charts by the id of the section they draw. */
export function chartsOf(d: Dashboard): Record<string, ChartSpec> {
  const overTime = section(d, 'over-time');
  return {
    'over-time': {
      type: 'line',
      stacked: true,
      labels: overTime.rows.map((r) => r.label),
      datasets: overTime.columns.slice(1).map((label, i) => ({ label, data: overTime.rows.map((r) => r.values[i]!) })),
    },
    downloads: oneSeries(section(d, 'downloads'), 'bar', true),
    types: oneSeries(section(d, 'types'), 'doughnut'),
    agents: oneSeries(section(d, 'agents'), 'doughnut'),
    refusals: oneSeries(section(d, 'refusals'), 'bar', true),
  };
}

/** Shading steps of the heatmap (CSS classes heat-0 … heat-5; no inline styles under the CSP). */
export function heatLevel(value: number, max: number): number {
  return value <= 0 || max <= 0 ? 0 : Math.max(1, Math.ceil((value / max) * 5));
}

export function dashboardCsv(d: Dashboard): string {
  const lines: CsvCell[][] = [['section', 'row', 'column', 'value']];
  for (const s of d.sections) {
    for (const row of s.rows) {
      row.values.forEach((value, i) => lines.push([s.title, row.label, s.columns[i + 1]!, value]));
    }
  }
  return toCsv(lines);
}

export const csvFileName = (d: Dashboard) => `analytics-${isoDay(d.range.from)}-to-${isoDay(d.lastDay)}.csv`;
