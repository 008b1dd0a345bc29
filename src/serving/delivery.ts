/**
 * Turns a located file into a response, in the mode DOWNLOAD_SERVE_FROM chose:
 *   APP    the app streams it with res.download (send: Range 206/416, HEAD, 304, Last-Modified);
 *   LOCAL  an empty 200 with the internal-redirect header; nginx sends the file;
 *   REMOTE a 302 to DOWNLOAD_REMOTE_BASE_URL + the stored path (remote downloads: their URL).
 *
 * nginx keeps only Content-Type, Content-Disposition, Cache-Control, Expires, Accept-Ranges and
 * Set-Cookie from the app's response on an internal redirect: those carry the policy here, and
 * the security headers for served files live in the nginx location (nginx/).
 */
import fs from 'node:fs/promises';
import type { Request, Response } from 'express';
import type { Config } from '../config.ts';
import { safeFileName } from '../lib/file-names.ts';
import { DOWNLOAD_CACHE_CONTROL, SERVED_FILE_HEADERS, attachmentHeader, inertContentType } from './content-policy.ts';

export interface LocalFile {
  kind: 'local';
  /** absolute path on disk */
  path: string;
  /** path under MEDIA_ROOT with forward slashes, e.g. downloads/ab/ab12… (server-made only) */
  mediaPath: string;
  size: number;
  mtime: Date;
  /** strong validator: the content's SHA-256 (or the generated file's cache key) */
  etag: string;
  fileName: string;
  mimeType: string | null;
  /** generated files exist only here: never redirected to the remote store */
  generated?: boolean;
}

export interface RemoteFile {
  kind: 'remote';
  url: string;
}

export type ServeTarget = LocalFile | RemoteFile;

export const EVENT_HEADER = 'X-Download-Event';

export function createDelivery(config: Pick<Config, 'serving' | 'media'>) {
  const { mode, internalRedirectHeader, remoteBaseUrl } = config.serving;

  function redirect(res: Response, url: string) {
    res.set('Cache-Control', DOWNLOAD_CACHE_CONTROL).redirect(302, url);
  }

  return {
    /** True when the answer is a redirect (remote downloads; stored files in REMOTE mode). */
    redirects(target: ServeTarget): boolean {
      return target.kind === 'remote' || (mode === 'REMOTE' && !target.generated);
    },

    deliver(req: Request, res: Response, target: ServeTarget, eventId: string, notModified: boolean): Promise<void> | void {
      if (target.kind === 'remote') return redirect(res, target.url);
      if (notModified) {
        // Decided by the handler from the validators set above, for every mode alike (nginx is
        // configured not to answer 304 itself: it cannot know the request was not counted).
        res.status(304).end();
        return;
      }
      if (mode === 'REMOTE' && !target.generated) return redirect(res, `${remoteBaseUrl}/${target.mediaPath}`);
      // Plain setHeader: Express's res.set would look up a charset for every Content-Type.
      res.setHeader('Cache-Control', DOWNLOAD_CACHE_CONTROL);
      res.setHeader('Content-Type', inertContentType(target.mimeType));
      res.setHeader('Content-Disposition', attachmentHeader(target.fileName, 'download'));

      if (mode === 'LOCAL') {
        // The answer is the header; nginx serves the bytes (Range, HEAD) from MEDIA_URL.
        res.setHeader(EVENT_HEADER, eventId);
        res.setHeader(internalRedirectHeader, `${config.media.url}${target.mediaPath}`);
        res.statusCode = 200;
        res.end();
        return;
      }
      res.set(SERVED_FILE_HEADERS);
      // Our strong validator (the content hash) rather than send's weak size-and-mtime one; in
      // LOCAL mode nginx would drop it, and answers with the file's Last-Modified itself.
      res.set('ETag', target.etag);
      return streamFile(req, res, target);
    },
  };
}

/** APP mode: send does Range, HEAD and conditional GET; a stream that dies mid-way cuts the connection. */
function streamFile(req: Request, res: Response, file: LocalFile): Promise<void> {
  return new Promise((resolve, reject) => {
    res.download(
      file.path,
      safeFileName(file.fileName),
      { etag: false, lastModified: true, cacheControl: false, acceptRanges: true, dotfiles: 'allow' },
      (error) => {
        if (!error) {
          // send ends "successfully" when the file shrinks under it, short of the
          // Content-Length it announced; the client would wait forever for the rest.
          void fs.stat(file.path).then(
            (now) => (now.size < file.size ? req.socket.destroy() : undefined),
            () => undefined,
          );
          return resolve();
        }
        if (res.headersSent) {
          // The status line is gone; a short body must not pass for a complete file.
          req.socket.destroy();
          return resolve();
        }
        reject(error);
      },
    );
  });
}
