/**
 * Server-side sessions in the database (the Session table), so several app instances share them
 * and a restart keeps people signed in. The cookie is HttpOnly and SameSite=Lax everywhere and
 * Secure whenever the request came over TLS (directly or through a trusted proxy).
 */
import type { RequestHandler } from 'express';
import session from 'express-session';
import { DatabaseSessionStore } from './session-store.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db.ts';

export const SESSION_COOKIE = 'dl.sid';

declare module 'express-session' {
  interface SessionData {
    userId?: number;
    flash?: { kind: 'success' | 'error'; message: string }[];
  }
}

export interface SessionMiddleware {
  handler: RequestHandler;
  stop(): void;
}

export function createSessionMiddleware(config: Config, db: Db, secret: string): SessionMiddleware {
  const store = new DatabaseSessionStore(db, config.auth.sessionMaxAgeMs);
  const handler = session({
    name: SESSION_COOKIE,
    secret,
    store,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    proxy: undefined, // follows Express's trust proxy setting
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      secure: 'auto',
      maxAge: config.auth.sessionMaxAgeMs,
      path: '/',
    },
  });
  return { handler, stop: () => store.stop() };
}

/**
 * Saves the session before a redirect goes out. express-session sends a response's headers
 * before its own save has finished, and a browser follows a 303 on the headers alone: the next
 * page could load the session from before the change and lose a flash message ("The token was
 * revoked") that the save commits a moment later.
 */
export const saveSessionBeforeRedirect: RequestHandler = (req, res, next) => {
  const redirect = res.redirect.bind(res) as (...args: unknown[]) => void;
  res.redirect = ((...args: unknown[]) => {
    if (!req.session) return redirect(...args);
    req.session.save((error) => (error ? next(error) : redirect(...args)));
  }) as typeof res.redirect;
  next();
};

/**
 * The session middleware (and what follows it) only for requests that bring a session cookie:
 * an anonymous download should not mint a session object it will never use.
 */
export function sessionIfCookie(session: RequestHandler, ...then: RequestHandler[]): RequestHandler {
  const chain = [session, ...then];
  return (req, res, next) => {
    if (!req.headers.cookie?.includes(`${SESSION_COOKIE}=`)) return next();
    const step = (i: number) => (error?: unknown) => {
      if (error) return next(error);
      if (i === chain.length) return next();
      try {
        const result = chain[i]!(req, res, step(i + 1)) as unknown;
        if (result instanceof Promise) result.catch(next);
      } catch (thrown) {
        next(thrown);
      }
    };
    step(0)();
  };
}
