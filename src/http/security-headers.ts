/**
 * helmet's defaults, tightened for a server-rendered site with no third-party assets: scripts,
 * styles, fonts and images come from this origin only. nginx repeats the file-serving subset
 * in its internal location (nginx/), because headers set here do not survive X-Accel-Redirect.
 */
import type { RequestHandler } from 'express';
import helmet from 'helmet';

export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'img-src': ["'self'", 'data:', 'blob:'],
        'connect-src': ["'self'"],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
        'object-src': ["'none'"],
        'font-src': ["'self'"],
        'base-uri': ["'self'"],
        'upgrade-insecure-requests': null,
      },
    },
    // HSTS belongs to whoever terminates TLS (nginx); a plain-HTTP dev server must not send it.
    strictTransportSecurity: false,
    referrerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
}

/** Signed-in pages must not be kept by the browser or any cache (back button after logout). */
export const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};
