/**
 * GET|HEAD /downloads/:slug/file — every download goes through here:
 * resolve → check access → locate the bytes → decide whether it counts → consume a token use →
 * record (group commit, awaited) → emit download.requested → deliver (APP | LOCAL | REMOTE).
 * Every request leaves one event row, refused and failed ones included.
 */
import type { Request, RequestHandler, Response } from 'express';
import { can } from '../auth/roles.ts';
import type { Clock } from '../clock.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { DownloadRecorder } from '../events/download-recorder.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { AccessPolicy } from './access.ts';
import type { createDelivery, ServeTarget } from './delivery.ts';
import type { DownloadResolver } from './download-resolver.ts';
import type { TargetLocator } from './file-target.ts';
import { decideCounting, isPrefetch, type CountingDecision } from './counting.ts';
import { newEventId } from '../lib/event-ids.ts';
import { describeVisit, eventRow, refusalRow, type ServingEvents } from './serve-events.ts';
import { conditionalState } from './conditional.ts';
import { followSuccessors } from './latest.ts';

export interface ServeDeps {
  resolver: DownloadResolver;
  access: AccessPolicy;
  locate: TargetLocator;
  recorder: DownloadRecorder;
  delivery: ReturnType<typeof createDelivery>;
  bus: EventBus<ServingEvents>;
  clock: Clock;
  metrics: Metrics;
  slugOfId(id: number): Promise<string | undefined>;
}

/** The two handlers; app.ts mounts them first, as GET (and so HEAD) /downloads/:slug/file and /latest. */
export function serveHandlers(deps: ServeDeps): { file: RequestHandler; latest: RequestHandler } {
  const { resolver, access, locate, recorder, delivery, bus, clock, metrics, slugOfId } = deps;

  const file = async (req: Request, res: Response) => {
    const visit = describeVisit(req, clock.now());
    if (visit.access.token) {
      // The token is in this URL: no page reached from here may learn it through Referer.
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.locals.noReferrer = true;
    }
    let downloadId: number | null = null;
    let recorded = false;
    try {
      const download = await resolver.resolve(req.params.slug as string, can(req.user?.role, 'downloads:manage'));
      downloadId = download.id;
      const grant = await access.check(download, visit.access);
      const target = await locate(download, visit.target);
      const decision = decide(req, target, grant.bypass);
      await grant.consume(decision);
      let event = eventRow(visit, download.id, decision, grant, delivery.redirects(target) ? 302 : statusOf(decision));
      if (!(await recorder.record(event))) {
        // The id was taken (a repeated X-Request-Id from a proxy): the download still counts.
        event = { ...event, id: newEventId() };
        await recorder.record(event);
      }
      recorded = true;
      if (req.socket.destroyed) {
        // The client left while the count was being written: nothing will reach it, so this
        // was not a download (nginx logs such a request as 499).
        recorder.retract(event);
        grant.refund?.();
        return;
      }
      metrics.downloads.inc({ outcome: decision.outcome });
      bus.emit('download.requested', { download, visit, event });
      await delivery.deliver(req, res, target, event.id, decision.reason === 'not_modified');
    } catch (error) {
      if (recorded) throw error;
      const refusal = refusalRow(visit, downloadId, error);
      metrics.downloads.inc({ outcome: refusal.outcome });
      await recorder.record(refusal).catch(() => undefined);
      throw error;
    }
  };

  const latest = async (req: Request, res: Response) => {
    const current = await followSuccessors(resolver, slugOfId, req.params.slug as string, can(req.user?.role, 'downloads:manage'));
    const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
    res.set('Cache-Control', 'no-store').redirect(302, `/downloads/${current.slug}/file${query}`);
  };

  /** Sets the file's validators, then applies the counting rules to this request. */
  function decide(req: Request, target: ServeTarget, bypass: boolean): CountingDecision {
    const local = target.kind === 'local' && !delivery.redirects(target) ? target : undefined;
    const conditional = local ? conditionalState(req, { etag: local.etag, lastModified: local.mtime }) : { notModified: false, rangeIgnored: false };
    return decideCounting({
      method: req.method,
      range: req.get('range'),
      size: local?.size,
      prefetch: isPrefetch(req.headers),
      bypass,
      ...conditional,
    });
  }

  return { file, latest };
}

/** The status the client will get (nginx sends the 206 in LOCAL mode; the event records it). */
function statusOf(decision: CountingDecision): number {
  if (decision.reason === 'not_modified') return 304;
  if (decision.reason === 'range_unsatisfiable') return 416;
  return decision.rangeStart !== undefined ? 206 : 200;
}
