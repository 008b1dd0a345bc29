/**
 * Sign in and out. Login is rate limited per client address (failures only): the limit+1st
 * failure in a window answers 429 with Retry-After. The session id changes at login (no
 * fixation) and the session is destroyed at logout.
 */
import { Router, type Request } from 'express';
import { rateLimit, ipKeyGenerator, type RateLimitInfo } from 'express-rate-limit';
import type { Config } from '../config.ts';
import { tooManyRequests } from '../errors.ts';
import { csrfProtection, renewCsrfToken } from '../http/csrf.ts';
import { noStore } from '../http/security-headers.ts';
import { SESSION_COOKIE } from '../http/session.ts';
import type { UserService } from './user-service.ts';

/** Only local paths: never `//host` or `/\host`, which browsers treat as another site. */
export function safeNextPath(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[^\s]*$/.test(value) ? value : '/admin';
}

function regenerate(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((e) => (e ? reject(e) : resolve())));
}
function save(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.save((e) => (e ? reject(e) : resolve())));
}

export function authRoutes(deps: { config: Config; users: UserService }): Router {
  const { config, users } = deps;
  const router = Router();
  const loginLimiter = rateLimit({
    windowMs: config.auth.loginWindowMs,
    limit: config.auth.loginMaxFailures,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req) => ipKeyGenerator(req.ip ?? 'unknown'),
    handler: (req, _res, next) => {
      const info = (req as Request & { rateLimit?: RateLimitInfo }).rateLimit;
      const reset = info?.resetTime?.getTime() ?? Date.now() + config.auth.loginWindowMs;
      const seconds = Math.max(1, Math.ceil((reset - Date.now()) / 1000));
      next(
        tooManyRequests(`Too many failed sign-ins. Try again in ${Math.ceil(seconds / 60)} minute(s).`, {
          code: 'LOGIN_RATE_LIMITED',
          headers: { 'Retry-After': String(seconds) },
        }),
      );
    },
  });

  router.get('/login', noStore, ...csrfProtection, (req, res) => {
    if (req.user) return res.redirect(303, safeNextPath(req.query.next));
    res.render('login', { title: 'Sign in', next: safeNextPath(req.query.next), error: undefined, username: '' });
  });

  router.post('/login', noStore, loginLimiter, ...csrfProtection, async (req, res) => {
    const { username, password } = (req.body ?? {}) as Record<string, unknown>;
    const next = safeNextPath((req.body as Record<string, unknown>)?.next);
    const user =
      typeof username === 'string' && typeof password === 'string' && username.length <= 200 && password.length <= 1024
        ? await users.authenticate(username, password)
        : null;
    if (!user) {
      res.status(401).render('login', {
        title: 'Sign in',
        next,
        error: 'Wrong username or password.',
        username: typeof username === 'string' ? username.slice(0, 200) : '',
      });
      return;
    }
    await regenerate(req);
    req.session.userId = user.id;
    renewCsrfToken(req, res);
    await save(req);
    req.log?.info({ userId: user.id }, 'signed in');
    res.redirect(303, next);
  });

  router.post('/logout', noStore, ...csrfProtection, (req, res, next) => {
    req.session.destroy((error) => {
      if (error) return next(error);
      res.clearCookie(SESSION_COOKIE, { path: '/' });
      res.redirect(303, '/login');
    });
  });

  return router;
}
