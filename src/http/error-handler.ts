/**
 * The one place errors become responses: normalise (ours, http-errors/body-parser, multer,
 * Prisma) → no-store → log → a page or `{"error": {"code", "message"}}`. Bad input is always a
 * 4xx with a message written for people; anything unexpected is a 500 that leaks nothing.
 */
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import multer from 'multer';
import { ZodError } from 'zod';
import { isRecordNotFound, isUniqueViolation } from '../db.ts';
import { AppError, notFound } from '../errors.ts';
import type { Logger } from '../log.ts';

const CLIENT_GONE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

const bodyParserErrors: Record<string, [number, string, string]> = {
  'entity.parse.failed': [400, 'BAD_JSON', 'The request body is not valid JSON.'],
  'entity.too.large': [413, 'PAYLOAD_TOO_LARGE', 'The request body is too large.'],
  'encoding.unsupported': [415, 'UNSUPPORTED_ENCODING', 'This content encoding is not accepted.'],
  'charset.unsupported': [415, 'UNSUPPORTED_CHARSET', 'This character set is not accepted.'],
  'parameters.too.many': [413, 'TOO_MANY_PARAMETERS', 'The form has too many fields.'],
  'request.aborted': [400, 'REQUEST_ABORTED', 'The request was aborted.'],
};

const multerMessages: Record<string, [number, string]> = {
  LIMIT_FILE_SIZE: [413, 'The file is larger than the upload limit.'],
  LIMIT_PART_COUNT: [400, 'The form has too many parts.'],
  LIMIT_FILE_COUNT: [400, 'Too many files were sent.'],
  LIMIT_FIELD_KEY: [400, 'A field name is too long.'],
  LIMIT_FIELD_VALUE: [413, 'A field value is too long.'],
  LIMIT_FIELD_COUNT: [400, 'The form has too many fields.'],
  LIMIT_UNEXPECTED_FILE: [400, 'A file was sent in a field that does not take files.'],
  MISSING_FIELD_NAME: [400, 'A form field has no name.'],
};

export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof multer.MulterError) {
    const [status, message] = multerMessages[error.code] ?? [400, 'The upload could not be read.'];
    return new AppError(status, message, { code: error.code, cause: error });
  }
  if (error instanceof ZodError) {
    const issues = error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
    const first = issues[0];
    const message = first ? (first.field ? `${first.field}: ${first.message}` : first.message) : 'The input is not valid.';
    return new AppError(422, message, { code: 'VALIDATION_FAILED', details: { issues }, cause: error });
  }
  if (isUniqueViolation(error)) return new AppError(409, 'This already exists.', { code: 'CONFLICT', cause: error });
  if (isRecordNotFound(error)) return notFound(undefined, { cause: error });
  const e = error as { status?: unknown; statusCode?: unknown; type?: unknown; expose?: unknown; code?: unknown; message?: unknown };
  if (typeof e?.type === 'string' && bodyParserErrors[e.type]) {
    const [status, code, message] = bodyParserErrors[e.type]!;
    return new AppError(status, message, { code, cause: error });
  }
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500 && e.expose !== false) {
    return new AppError(status, String(e.message ?? 'Bad request'), {
      code: typeof e.code === 'string' ? e.code : undefined,
      cause: error,
    });
  }
  return new AppError(500, 'Something went wrong on our side. The problem has been logged.', {
    code: 'INTERNAL',
    cause: error,
  });
}

/** JSON for the API, webhooks, and clients that ask for it; a page for everyone else. */
export function wantsJson(req: Request): boolean {
  if (/^\/(api|callback|healthz)(\/|$)/.test(req.path)) return true;
  return req.accepts(['html', 'json']) === 'json';
}

export const notFoundHandler: RequestHandler = (_req, _res, next) => next(notFound());

const titles: Record<number, string> = {
  400: 'Bad request',
  401: 'Sign in required',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict',
  410: 'No longer available',
  413: 'Too large',
  415: 'Unsupported content',
  422: 'Invalid input',
  429: 'Too many requests',
  500: 'Server error',
  503: 'Temporarily unavailable',
  507: 'Out of disk space',
};

/**
 * `pageHeaders` (helmet) is applied to error pages of routes that run before it (the serve
 * handler), so every HTML page carries the same Content-Security-Policy.
 */
export function errorHandler(log: Logger, pageHeaders?: RequestHandler): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const appError = toAppError(error);
    const code = (error as { code?: string })?.code;
    const reqLog = (req as { log?: Logger }).log ?? log;
    if (code && CLIENT_GONE.has(code)) reqLog.debug({ code }, 'client went away');
    else if (appError.status >= 500) reqLog.error({ err: error }, 'request failed');
    else reqLog.info({ status: appError.status, code: appError.code, reason: appError.message }, 'request refused');

    if (res.headersSent) {
      // The status line is gone: the only honest signal left is to cut the connection.
      req.socket.destroy();
      return;
    }
    res.status(appError.status);
    res.set('Cache-Control', 'no-store');
    for (const [name, value] of Object.entries(appError.headers ?? {})) res.set(name, value);
    const body = { code: appError.code, message: appError.message, ...(appError.details ?? {}) };
    if (wantsJson(req) || req.method === 'HEAD') {
      res.json({ error: body });
      return;
    }
    if (pageHeaders && !res.getHeader('Content-Security-Policy')) pageHeaders(req, res, () => undefined);
    if (res.locals.noReferrer) res.setHeader('Referrer-Policy', 'no-referrer');
    res.render('errors/error', {
      title: titles[appError.status] ?? 'Error',
      status: appError.status,
      message: appError.message,
      code: appError.code,
      details: appError.details,
    });
  };
}
