/**
 * The seam between serving and tokens: who may download, and what a counted download consumes.
 * `check` runs before any work (no file is rendered for a refused request); `consume` runs once
 * the request is known to count, and may still refuse (another request took the last use).
 * Refusals are AppErrors whose code names the reason; the serve handler records them.
 */
import type { Role } from '../config.ts';
import type { ServableDownload } from './download-resolver.ts';
import type { CountingDecision } from './counting.ts';

export interface AccessRequest {
  user?: { id: number; role: Role };
  /** the token from ?token= or ?download-token= */
  token?: string;
  /** the client, for rate limits on wrong tokens */
  clientKey: string;
  isResume: boolean;
}

export interface AccessGrant {
  bypass: boolean;
  tokenId?: number;
  /** Called with the counting decision before the event is recorded. */
  consume(decision: CountingDecision): Promise<void>;
  /** Gives back what consume took: the download never reached the client. */
  refund?(): void;
}

export interface AccessPolicy {
  /** A grant, or a promise of one (a grant known without I/O is returned as it is); throws to refuse. */
  check(download: ServableDownload, request: AccessRequest): AccessGrant | Promise<AccessGrant>;
}
