/**
 * One pino root logger, JSON lines on stdout. Secrets never reach a log line: credentials and
 * cookies are redacted by path, and query-string secrets (download tokens, CSRF tokens, webhook
 * secrets) are masked wherever a URL is logged.
 */
import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';

export type { Logger };

export const REDACTED_QUERY_KEYS = ['token', 'download-token', '_csrf', 'secret', 'key'];

export function createLogger(config: Pick<Config, 'log'>, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level: config.log.level,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'req.headers["x-csrf-token"]',
          'req.headers["x-signature-256"]',
          'res.headers["set-cookie"]',
          'password',
          '*.password',
        ],
        censor: '[redacted]',
      },
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/** `/x?token=abc&a=1` → `/x?token=[redacted]&a=1` */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  let changed = false;
  for (const key of REDACTED_QUERY_KEYS) {
    if (params.has(key)) {
      params.set(key, '[redacted]');
      changed = true;
    }
  }
  return changed ? `${url.slice(0, q)}?${params.toString().replaceAll('%5Bredacted%5D', '[redacted]')}` : url;
}
