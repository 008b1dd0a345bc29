/**
 * Prometheus metrics (prom-client) on a registry of the app's own, so several apps in one
 * process (tests) do not collide.
 */
import type { RequestHandler } from 'express';
import client from 'prom-client';

export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const httpDuration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer HTTP requests, by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  const downloadsByOutcome = new client.Counter({
    name: 'downloads_requests_total',
    help: 'Requests to the serve handler, by outcome (served, resumed, not_counted, denied)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  // Bound children, one per outcome: the label lookup is skipped on the serve path.
  const outcomeCounters = new Map<string, client.Counter.Internal>();
  const downloads = {
    inc(labels: { outcome: string }) {
      let child = outcomeCounters.get(labels.outcome);
      if (!child) outcomeCounters.set(labels.outcome, (child = downloadsByOutcome.labels(labels.outcome)));
      child.inc();
    },
  };
  const groupCommitSize = new client.Histogram({
    name: 'download_group_commit_size',
    help: 'Download events written per group-commit transaction',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [registry],
  });

  const observeRequests: RequestHandler = (req, res, next) => {
    const end = httpDuration.startTimer();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };

  return { registry, observeRequests, downloads, groupCommitSize };
}

export type Metrics = ReturnType<typeof createMetrics>;
