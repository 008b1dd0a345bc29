/** Formatting helpers every template gets as `fmt`. Dates are shown in UTC, and say so. */
import { formatLabel } from '../downloads/labels.ts';
import { humanSize } from '../lib/text.ts';

export const viewHelpers = {
  size: humanSize,
  count: (n: number | bigint) => Number(n).toLocaleString('en-US'),
  date: (d: Date | null | undefined) => (d ? d.toISOString().slice(0, 10) : '—'),
  dateTime: (d: Date | null | undefined) => (d ? `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '—'),
  label: formatLabel,
};
