/**
 * Multipart uploads with multer, written into a fresh staging folder per request while their
 * SHA-256 and size are computed on the way (no second read of a big file). Limits are explicit
 * (multer's defaults are Infinity). Whatever happens — limit, bad multipart, client abort,
 * validation failure later — the caller removes the staging folder; nothing reaches
 * MEDIA_ROOT/downloads until the file is committed.
 *
 * The CSRF check runs before this middleware (token in the query string or a header), so a
 * forged upload is refused before a byte is written.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import multer, { type StorageEngine } from 'multer';
import { AppError, unsupportedMediaType } from '../errors.ts';
import type { FileStore } from './file-store.ts';

export interface StagedUpload {
  field: string;
  originalName: string;
  clientType: string;
  path: string;
  size: number;
  sha256: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    staging?: string;
    uploads?: Record<string, StagedUpload>;
  }
}

export interface UploadOptions {
  maxFileBytes: number;
  fileFields: readonly string[];
}

function hashingStorage(store: FileStore): StorageEngine {
  return {
    _handleFile(req, file, callback) {
      const target = store.stagedPath(req.staging!);
      const hash = crypto.createHash('sha256');
      let size = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, next) {
          hash.update(chunk);
          size += chunk.length;
          next(null, chunk);
        },
      });
      pipeline(file.stream, meter, fs.createWriteStream(target, { flags: 'wx', mode: 0o600 }))
        .then(() => callback(null, { path: target, size, filename: hash.digest('hex') } as Partial<Express.Multer.File>))
        .catch((error: Error) => fs.rm(target, { force: true }, () => callback(error)));
    },
    _removeFile(_req, file, callback) {
      fs.rm(file.path, { force: true }, () => callback(null));
    },
  };
}

/**
 * Parses a multipart body into req.body (fields) and req.uploads (staged files by field).
 * Requests that are not multipart get 415; malformed multipart gets 400.
 */
export function acceptUploads(store: FileStore, options: UploadOptions): RequestHandler {
  const parser = multer({
    storage: hashingStorage(store),
    defParamCharset: 'utf8',
    limits: {
      fileSize: options.maxFileBytes,
      // One more than expected, so a file in an unknown field is reported as such.
      files: options.fileFields.length + 1,
      fields: 100,
      parts: 100 + options.fileFields.length,
      fieldNameSize: 100,
      fieldSize: 512 * 1024,
      headerPairs: 100,
    },
  }).fields(options.fileFields.map((name) => ({ name, maxCount: 1 })));

  return async (req: Request, res: Response, next: NextFunction) => {
    if (!req.is('multipart/form-data')) return next(unsupportedMediaType('Send this form as multipart/form-data.'));
    req.staging = await store.createStaging();
    // The staging folder goes when the response is over, whatever the outcome; a committed
    // file has been renamed out of it by then.
    res.on('close', () => void store.discardStaging(req.staging!).catch(() => undefined));
    parser(req, res, (error?: unknown) => {
      if (error) return next(toUploadError(error));
      const files = (req.files ?? {}) as Record<string, Express.Multer.File[]>;
      req.uploads = {};
      for (const [field, [file]] of Object.entries(files)) {
        if (!file) continue;
        req.uploads[field] = {
          field,
          originalName: file.originalname,
          clientType: file.mimetype,
          path: file.path,
          size: file.size,
          sha256: file.filename,
        };
      }
      next();
    });
  };
}

function toUploadError(error: unknown): unknown {
  if (error instanceof multer.MulterError || error instanceof AppError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new AppError(507, 'There is not enough disk space to store this upload.', { code: 'INSUFFICIENT_STORAGE', cause: error });
  }
  if (code === 'ECONNRESET' || code === 'ECONNABORTED') return error;
  // busboy's complaints (truncated body, bad boundary, bad headers) are the client's doing.
  return new AppError(400, 'The upload could not be read (malformed multipart body).', { code: 'MALFORMED_MULTIPART', cause: error });
}
