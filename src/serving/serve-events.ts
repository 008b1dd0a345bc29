/**
 * The event row of a serve request, and the in-process `download.requested` event extensions
 * can subscribe to (the successor of jmbo-downloads' download_requested signal).
 */
import { eventIdForRequest, newEventId } from '../lib/event-ids.ts';
import type { Request } from 'express';
import type { DownloadEventRow } from '../events/download-recorder.ts';
import { toAppError } from '../http/error-handler.ts';
import type { AccessGrant, AccessRequest } from './access.ts';
import { agentClass, capped, referrerHost, truncateIp } from './client-info.ts';
import type { CountingDecision } from './counting.ts';
import type { ServableDownload } from './download-resolver.ts';
import type { TargetRequest } from './file-target.ts';

/** What the handler knows about a request before looking anything up. */
export interface Visit {
  id: string;
  at: Date;
  method: string;
  path: string;
  userId: number | null;
  ip: string | null;
  userAgent: string | null;
  referrer: string | null;
  access: AccessRequest;
  target: TargetRequest;
}

export interface DownloadRequestedEvent {
  download: ServableDownload;
  visit: Visit;
  event: DownloadEventRow;
}

export interface ServingEvents {
  'download.requested': DownloadRequestedEvent;
}

const NGINX_REQUEST_ID = /^[0-9a-f]{32}$/;

/**
 * Behind nginx the event id carries nginx's $request_id (X-Request-Id; lib/event-ids.ts), so even
 * a request nginx gave up on before the app answered (logged 499, without the app's headers)
 * can be matched to its event when the access log is ingested. The header is believed only from
 * a trusted proxy (TRUST_PROXY); other requests get a plain UUIDv7.
 */
export function eventIdFor(req: Request, now: Date): string {
  const header = req.headers['x-request-id'];
  if (typeof header !== 'string' || !NGINX_REQUEST_ID.test(header)) return newEventId(now.getTime());
  const trusted = req.app.get('trust proxy fn') as (address: string | undefined, hop: number) => boolean;
  if (!trusted(req.socket.remoteAddress, 0)) return newEventId(now.getTime());
  return eventIdForRequest(header, now.getTime());
}

function queryString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function describeVisit(req: Request, now: Date): Visit {
  // Express parses the query string and walks X-Forwarded-For on every access: once each here.
  const query = req.query;
  const ip = req.ip;
  const range = req.headers.range;
  return {
    id: eventIdFor(req, now),
    at: now,
    method: req.method,
    path: req.path,
    userId: req.user?.id ?? null,
    ip: truncateIp(ip),
    userAgent: capped(req.headers['user-agent']),
    referrer: capped(req.headers.referer, 1024),
    access: {
      user: req.user ? { id: req.user.id, role: req.user.role } : undefined,
      token: queryString(query.token) ?? queryString(query['download-token']),
      clientKey: ip ?? 'unknown',
      isResume: !!range && !/^bytes=\s*0\s*-/.test(range),
    },
    target: {
      // Only generated downloads read the query (their declared parameters); built on demand.
      get query() {
        const strings: Record<string, string> = {};
        for (const [key, value] of Object.entries(query)) if (typeof value === 'string') strings[key] = value;
        return strings;
      },
      user: req.user ? { id: req.user.id, username: req.user.username } : undefined,
      clientKey: ip ?? 'unknown',
    },
  };
}

function row(
  visit: Visit,
  downloadId: number | null,
  outcome: Pick<DownloadEventRow, 'outcome' | 'reason' | 'counted' | 'status' | 'rangeStart' | 'rangeEnd' | 'tokenId' | 'bypass'>,
): DownloadEventRow {
  // One literal (no spreads): this runs for every download.
  return {
    id: visit.id,
    occurredAt: visit.at,
    downloadId,
    source: 'server',
    outcome: outcome.outcome,
    reason: outcome.reason,
    counted: outcome.counted,
    method: visit.method,
    status: outcome.status,
    rangeStart: outcome.rangeStart,
    rangeEnd: outcome.rangeEnd,
    userId: visit.userId,
    tokenId: outcome.tokenId,
    bypass: outcome.bypass,
    ip: visit.ip,
    userAgent: visit.userAgent,
    agentClass: agentClass(visit.userAgent ?? undefined),
    referrer: visit.referrer,
    referrerHost: referrerHost(visit.referrer ?? undefined),
  };
}

export function eventRow(visit: Visit, downloadId: number, decision: CountingDecision, grant: AccessGrant, status: number): DownloadEventRow {
  return row(visit, downloadId, {
    outcome: decision.outcome,
    reason: decision.reason ?? null,
    counted: decision.counted,
    status,
    rangeStart: decision.rangeStart === undefined ? null : BigInt(decision.rangeStart),
    rangeEnd: decision.rangeEnd === undefined ? null : BigInt(decision.rangeEnd),
    tokenId: grant.tokenId ?? null,
    bypass: grant.bypass,
  });
}

/** A refused or failed request: outcome `denied` for 401/403/404-token/410/429, else `failed`. */
export function refusalRow(visit: Visit, downloadId: number | null, error: unknown): DownloadEventRow {
  const appError = toAppError(error);
  const denied = appError.code.startsWith('TOKEN_') || [401, 403, 410, 429].includes(appError.status);
  return row(visit, downloadId, {
    outcome: denied ? 'denied' : 'failed',
    reason: appError.code.toLowerCase(),
    counted: false,
    status: appError.status,
    rangeStart: null,
    rangeEnd: null,
    tokenId: (appError.details?.tokenId as number | undefined) ?? null,
    bypass: false,
  });
}
