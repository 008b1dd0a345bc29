/** How rollup keys are named on the dashboard, in its CSV and in the stats API. */
import { ARTIFACT_TYPE_LABELS, type ArtifactType } from './artifact-types.ts';
import { NO_REFERRER } from './rollup-dimensions.ts';

export function sourceLabel(source: string): string {
  if (source === 'server') return 'This server';
  if (source === 'external:cloudrepo') return 'CloudRepo';
  return source.startsWith('external:') ? `${source.slice('external:'.length)} (external)` : source;
}

const AGENTS: Record<string, string> = { human: 'Human', bot: 'Bot', unknown: 'Unknown' };
export const agentLabel = (key: string) => AGENTS[key] ?? key;

/** Refusal reasons are the lower-cased error codes of the serve handler (tokens/*). */
const REFUSALS: Record<string, string> = {
  token_expired: 'Expired',
  token_used_up: 'Used up',
  token_invalid: 'Invalid token',
  token_revoked: 'Revoked',
  token_required: 'Token missing',
  token_rate_limited: 'Too many wrong tokens',
};
export const refusalLabel = (key: string) => REFUSALS[key] ?? key.replaceAll('_', ' ');

const OUTCOMES: Record<string, string> = {
  served: 'Served (counted)',
  resumed: 'Resumed (not counted)',
  not_counted: 'Not counted',
  denied: 'Refused',
  failed: 'Failed',
};
export const outcomeLabel = (key: string) => OUTCOMES[key] ?? key;

export const typeLabel = (key: string) => ARTIFACT_TYPE_LABELS[key as ArtifactType] ?? key;

export const referrerLabel = (key: string) => (key === NO_REFERRER ? '(none: direct or hidden)' : key);
