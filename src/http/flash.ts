import type { Request, RequestHandler } from 'express';

/** One-time messages shown on the next page ("The download was saved."). */
export function flash(req: Request, kind: 'success' | 'error', message: string): void {
  if (!req.session) return;
  (req.session.flash ??= []).push({ kind, message });
}

export const exposeFlash: RequestHandler = (req, res, next) => {
  res.locals.flash = req.session?.flash ?? [];
  if (req.session?.flash) delete req.session.flash;
  next();
};
