import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { forbidden, unauthorized } from '../errors.ts';
import { can, type Permission } from './roles.ts';
import type { SessionUser, UserService } from './user-service.ts';

declare module 'express-serve-static-core' {
  interface Request {
    /** The signed-in person (session) or the owner of the API key (Bearer). */
    user?: SessionUser;
  }
}

/** Loads the signed-in user from the session; a disabled or deleted user is signed out. */
export function loadSessionUser(users: UserService): RequestHandler {
  return async (req, res, next) => {
    const id = req.session?.userId;
    if (id !== undefined) {
      const user = await users.findActiveUser(id);
      if (user) req.user = user;
      else delete req.session.userId;
    }
    res.locals.user = req.user;
    next();
  };
}

/** Pages: a visitor is sent to the login page; a signed-in user without the right gets 403. */
export function requirePermission(permission: Permission): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!req.user) {
      if (req.method === 'GET' && req.accepts(['html', 'json']) === 'html') {
        return res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
      }
      return next(unauthorized('Sign in first.'));
    }
    if (!can(req.user.role, permission)) return next(forbidden('Your role does not allow this.'));
    next();
  };
}

/** JSON API: `Authorization: Bearer <api key>`; cookies are ignored, so no CSRF applies. */
export function requireApiKey(users: UserService, permission?: Permission): RequestHandler {
  return async (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const user = match ? await users.authenticateApiKey(match[1]!) : null;
    if (!user) {
      return next(
        unauthorized('A valid API key is required (Authorization: Bearer <key>).', {
          code: 'API_KEY_INVALID',
          headers: { 'WWW-Authenticate': 'Bearer realm="downloads"' },
        }),
      );
    }
    if (permission && !can(user.role, permission)) return next(forbidden("This API key's user may not do this."));
    req.user = user;
    next();
  };
}
