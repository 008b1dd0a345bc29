/**
 * The rollup dimensions of a download event: what the dashboard and the stats API count by.
 * Counted downloads are rolled up by download, category, label, repository, artifact type,
 * source, agent class and referring host, plus a `total`; every request, counted or not, by
 * outcome, and refused ones by reason. (event-batch-writer.ts writes them, hour and day buckets,
 * in the transaction that stores the events; COUNTED_DIMENSIONS there are the ones a retraction
 * takes back.)
 */
import type { DownloadEventRow } from '../events/download-recorder.ts';
import type { RollupKeys } from '../events/event-batch-writer.ts';
import { classifyArtifact } from './artifact-types.ts';
import type { DownloadFactsCache } from './download-facts.ts';

export const DIMENSIONS = {
  total: 'total',
  download: 'download',
  category: 'category',
  label: 'label',
  repository: 'repository',
  type: 'type',
  source: 'source',
  agent: 'agent',
  referrer: 'referrer',
  outcome: 'outcome',
  refusal: 'refusal',
  /** written by the nginx log ingestion (createCompletionWriter), not by rollupKeys */
  completed: 'completed',
  bytes: 'bytes',
} as const;

/** The key of the `total`, `completed` and `bytes` dimensions. */
export const ALL = 'all';
/** The referrer key of requests that sent none (a host name never contains parentheses). */
export const NO_REFERRER = '(none)';

export function createRollupKeys(facts: Pick<DownloadFactsCache, 'get'>): RollupKeys {
  return (event: DownloadEventRow) => {
    const keys: [string, string][] = [[DIMENSIONS.outcome, event.outcome]];
    if (event.outcome === 'denied' && event.reason) keys.push([DIMENSIONS.refusal, event.reason]);
    if (!event.counted) return keys;
    keys.push(
      [DIMENSIONS.total, ALL],
      [DIMENSIONS.source, event.source],
      [DIMENSIONS.agent, event.agentClass ?? 'unknown'],
      [DIMENSIONS.referrer, event.referrerHost ?? NO_REFERRER],
    );
    const known = event.downloadId === null ? undefined : facts.get(event.downloadId);
    if (event.downloadId !== null) keys.push([DIMENSIONS.download, String(event.downloadId)]);
    if (known) {
      for (const id of known.categoryIds) keys.push([DIMENSIONS.category, String(id)]);
      for (const label of known.labels) keys.push([DIMENSIONS.label, label]);
    }
    if (event.repository) keys.push([DIMENSIONS.repository, event.repository]);
    keys.push([DIMENSIONS.type, event.artifactType ?? known?.type ?? classifyArtifact(event.artifact)]);
    return keys;
  };
}
