/**
 * CSRF protection for everything a signed-in browser can change: a synchronizer token kept in the
 * session (csrf-sync) plus a same-origin check. Forms send the token as a `_csrf` field; uploads
 * send it in the query string or the X-CSRF-Token header, because multer must not write a byte
 * before the check has passed (the body is read only after this middleware).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { csrfSync } from 'csrf-sync';
import { forbidden } from '../errors.ts';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const { csrfSynchronisedProtection, generateToken } = csrfSync({
  getTokenFromRequest: (req) => {
    const header = req.get('x-csrf-token');
    if (header) return header;
    const fromBody = (req.body as Record<string, unknown> | undefined)?._csrf;
    if (typeof fromBody === 'string') return fromBody;
    const fromQuery = req.query._csrf;
    return typeof fromQuery === 'string' ? fromQuery : undefined;
  },
  errorConfig: { statusCode: 403, message: 'The form has expired or did not come from this site. Reload the page and try again.', code: 'CSRF_INVALID' },
});

/** Refuses unsafe requests that a browser says come from another site. */
export const sameOriginOnly: RequestHandler = (req: Request, _res: Response, next: NextFunction) => {
  if (!UNSAFE.has(req.method)) return next();
  const site = req.get('sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') {
    return next(forbidden('Cross-site requests are not accepted.', { code: 'CROSS_SITE' }));
  }
  const origin = req.get('origin');
  if (origin && origin !== 'null') {
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      host = undefined;
    }
    if (host !== req.get('host')) return next(forbidden('Cross-site requests are not accepted.', { code: 'CROSS_SITE' }));
  } else if (origin === 'null') {
    return next(forbidden('Cross-site requests are not accepted.', { code: 'CROSS_SITE' }));
  }
  next();
};

/** Checks the token on unsafe methods and exposes `csrfToken` to the views. */
export const csrfProtection: RequestHandler[] = [
  sameOriginOnly,
  csrfSynchronisedProtection,
  (req, res, next) => {
    res.locals.csrfToken = generateToken(req);
    next();
  },
];

/** A fresh token after login (the session was regenerated, the old token went with it). */
export function renewCsrfToken(req: Request, res: Response): void {
  res.locals.csrfToken = generateToken(req, true);
}
