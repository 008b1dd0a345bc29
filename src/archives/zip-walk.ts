/**
 * The bounded walk over a ZIP's central directory that both inspection and extraction start
 * with. Every limit is decided from declared sizes before a byte of file data is read: that is
 * sound because yauzl's `validateEntrySizes` makes every stream fail when the data does not match
 * its declared size.
 */
import fs from 'node:fs';
import { Readable } from 'node:stream';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { AppError, insufficientStorage, unprocessable } from '../errors.ts';
import { collisionKey, normalizeEntryName, printableName, unsafeNameReason } from './entry-names.ts';

export interface ZipLimits {
  maxEntries: number;
  /** Declared uncompressed size of one entry. */
  maxEntryBytes: number;
  /** Sum of the declared uncompressed sizes. */
  maxTotalBytes: number;
  /** Uncompressed/compressed, applied to entries larger than RATIO_THRESHOLD_BYTES. */
  maxRatio: number;
  maxManifestBytes: number;
}

/** A file entry that passed every check; `name` is its canonical name. */
export interface WalkedEntry {
  name: string;
  entry: Entry;
}

// Small entries compress absurdly well when they are runs of one byte; only big ones can hurt.
export const RATIO_THRESHOLD_BYTES = 1024 * 1024;

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const UTF8_FLAG = 0x800;
const UNICODE_PATH_EXTRA_FIELD = 0x7075;

const OPTIONS: yauzl.Options = {
  lazyEntries: true,
  // Streams are opened after the walk ends, so the file must stay open until we close it.
  autoClose: false,
  decodeStrings: true,
  validateEntrySizes: true,
  // Without it yauzl silently turns `..\evil` into `../evil` and `dir\file` into `dir/file`.
  strictFileNames: true,
};

// Entry data is read in large slices: yauzl's own reader takes 16 KiB at a time, one read after
// another for the whole file, which leaves the disk and the thread pool mostly idle.
const READ_CHUNK_BYTES = 128 * 1024;

/**
 * yauzl's documented extension point for where bytes come from: positional reads on one file
 * descriptor, so several entries can be read at once, and header reads without a stream each.
 */
class FileRangeReader extends yauzl.RandomAccessReader {
  constructor(private readonly fd: number) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return new RangeStream(this.fd, start, end);
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null) => void): void {
    fs.read(this.fd, buffer, offset, length, position, (error, bytesRead) => {
      if (error) return callback(error);
      callback(bytesRead < length ? new Error('unexpected end of file') : null);
    });
  }

  override close(callback: (err: Error | null) => void): void {
    fs.close(this.fd, callback);
  }
}

/**
 * Bytes [start, end) of a file descriptor it does not own: unlike fs.ReadStream, destroying it
 * never closes the descriptor, which the other entries' streams are still reading.
 */
class RangeStream extends Readable {
  private position: number;

  constructor(
    private readonly fd: number,
    start: number,
    private readonly end: number,
  ) {
    super({ highWaterMark: READ_CHUNK_BYTES });
    this.position = start;
  }

  override _read(): void {
    const length = Math.min(READ_CHUNK_BYTES, this.end - this.position);
    if (length <= 0) {
      this.push(null);
      return;
    }
    const buffer = Buffer.allocUnsafe(length);
    fs.read(this.fd, buffer, 0, length, this.position, (error, bytesRead) => {
      if (error) return this.destroy(error);
      if (bytesRead === 0) return this.destroy(new Error('unexpected end of file'));
      this.position += bytesRead;
      this.push(bytesRead < length ? buffer.subarray(0, bytesRead) : buffer);
    });
  }
}

export function openZip(zipPath: string): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    fs.open(zipPath, 'r', (openError, fd) => {
      if (openError) return reject(toArchiveError(openError));
      fs.fstat(fd, (statError, stats) => {
        if (statError) return fs.close(fd, () => reject(toArchiveError(statError)));
        // The reader owns the descriptor from here on and closes it with the ZipFile.
        yauzl.fromRandomAccessReader(new FileRangeReader(fd), stats.size, OPTIONS, (error, zipfile) => {
          if (error) return fs.close(fd, () => reject(toArchiveError(error)));
          resolve(zipfile);
        });
      });
    });
  });
}

/**
 * Reads every central-directory record and rejects the archive at the first problem. The error
 * listener stays attached for the life of the ZipFile: an `error` without a listener would crash
 * the process, and rejecting an already settled promise does nothing.
 */
export function walkEntries(zipfile: ZipFile, limits: ZipLimits): Promise<WalkedEntry[]> {
  return new Promise((resolve, reject) => {
    const walk = new EntryWalk(limits);
    zipfile.on('error', (error: unknown) => reject(toArchiveError(error)));
    zipfile.on('end', () => resolve(walk.entries));
    zipfile.on('entry', (entry: Entry) => {
      try {
        walk.accept(entry);
        zipfile.readEntry();
      } catch (error) {
        reject(error);
      }
    });
    if (zipfile.entryCount > limits.maxEntries) {
      reject(
        zipError('ZIP_TOO_MANY_ENTRIES', `The archive has ${zipfile.entryCount} entries; at most ${limits.maxEntries} are allowed.`, {
          entryCount: zipfile.entryCount,
          limit: limits.maxEntries,
        }),
      );
      return;
    }
    zipfile.readEntry();
  });
}

class EntryWalk {
  readonly entries: WalkedEntry[] = [];
  private readonly keys = new Map<string, string>();
  private totalBytes = 0;

  constructor(private readonly limits: ZipLimits) {}

  accept(entry: Entry): void {
    const raw = decodedName(entry);
    if (raw.endsWith('/')) return;
    const reason = unsafeNameReason(raw);
    if (reason) throw unsafePath(raw, reason);
    if (((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK) {
      throw zipError('ZIP_SYMLINK', `The archive entry "${printableName(raw)}" is a symbolic link; links are not accepted.`, { entry: raw });
    }
    this.checkDecodable(entry, raw);
    const name = normalizeEntryName(raw);
    this.checkUnique(name);
    this.checkSize(entry, name);
    this.entries.push({ name, entry });
  }

  private checkDecodable(entry: Entry, name: string): void {
    // isEncrypted first: an encrypted entry also fails canDecodeFileData, and "encrypted" is the
    // message that tells the uploader what to change.
    if (entry.isEncrypted()) {
      const message = `The archive entry "${printableName(name)}" is encrypted; upload an archive without a password.`;
      throw zipError('ZIP_ENCRYPTED', message, { entry: name });
    }
    if (!entry.canDecodeFileData()) {
      const method = entry.compressionMethod;
      const message = `The archive entry "${printableName(name)}" uses compression method ${method}; only stored and deflated entries are supported.`;
      throw zipError('ZIP_UNSUPPORTED_COMPRESSION', message, { entry: name, method });
    }
  }

  private checkUnique(name: string): void {
    const key = collisionKey(name);
    const earlier = this.keys.get(key);
    if (earlier !== undefined) {
      const same = earlier === name ? 'twice' : `twice (as "${printableName(earlier)}" and "${printableName(name)}")`;
      throw zipError('ZIP_DUPLICATE_ENTRY', `The archive contains "${printableName(name)}" ${same}.`, { entry: name, other: earlier });
    }
    this.keys.set(key, name);
  }

  private checkSize(entry: Entry, name: string): void {
    const { uncompressedSize: size, compressedSize } = entry;
    const { maxEntryBytes, maxTotalBytes, maxRatio } = this.limits;
    if (size > maxEntryBytes) {
      throw zipError('ZIP_ENTRY_TOO_LARGE', `The archive entry "${printableName(name)}" is ${size} bytes; at most ${maxEntryBytes} are allowed.`, {
        entry: name,
        size,
        limit: maxEntryBytes,
      });
    }
    if (size > RATIO_THRESHOLD_BYTES && (compressedSize === 0 || size / compressedSize > maxRatio)) {
      throw zipError('ZIP_RATIO_BOMB', `The archive entry "${printableName(name)}" expands more than ${maxRatio} times; it looks like a ZIP bomb.`, {
        entry: name,
        size,
        compressedSize,
      });
    }
    this.totalBytes += size;
    if (this.totalBytes > maxTotalBytes) {
      throw zipError('ZIP_TOO_LARGE', `The archive expands to more than ${maxTotalBytes} bytes.`, { entry: name, limit: maxTotalBytes });
    }
  }
}

/**
 * Info-ZIP's `zip` on Linux stores UTF-8 names without the UTF-8 flag, which yauzl then decodes
 * as CP437 (`café` → `caf├⌐`). Bytes that happen to be valid UTF-8 are almost never meant as
 * CP437, so those are read as UTF-8. ASCII bytes mean the same in both, so yauzl's own path
 * checks still hold for the result.
 */
function decodedName(entry: Entry): string {
  const flagged = (entry.generalPurposeBitFlag & UTF8_FLAG) !== 0;
  const hasUnicodePath = entry.extraFields.some((field) => field.id === UNICODE_PATH_EXTRA_FIELD);
  if (flagged || hasUnicodePath || entry.fileNameRaw.every((byte) => byte < 0x80)) return entry.fileName;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(entry.fileNameRaw);
  } catch {
    return entry.fileName;
  }
}

// yauzl's validateFileName messages: "<reason>: <fileName>".
const YAUZL_PATH_ERRORS: Array<[RegExp, string]> = [
  [/^invalid characters in fileName: /, 'it contains a backslash'],
  [/^absolute path: /, 'it is an absolute path'],
  [/^invalid relative path: /, 'it contains a ".." path segment'],
];

/** Maps anything thrown while reading an archive to the 422 it deserves; server faults pass through. */
export function toArchiveError(error: unknown, entry?: string): Error {
  if (error instanceof AppError) return error;
  if (isSystemError(error)) {
    if (error.code === 'ENOSPC') return insufficientStorage(undefined, { cause: error });
    return error;
  }
  const message = error instanceof Error ? error.message : String(error);
  for (const [pattern, reason] of YAUZL_PATH_ERRORS) {
    const match = pattern.exec(message);
    if (match) return unsafePath(message.slice(match[0].length), reason);
  }
  if (message.startsWith('strong encryption')) {
    return zipError('ZIP_ENCRYPTED', 'The archive uses strong encryption; upload an archive without a password.', {});
  }
  const details: Record<string, unknown> = { reason: message };
  if (entry !== undefined) details.entry = entry;
  return new AppError(422, 'The archive is damaged or is not a ZIP file.', { code: 'ZIP_CORRUPT', details, cause: error });
}

export function zipError(code: string, message: string, details: Record<string, unknown>): AppError {
  return unprocessable(message, { code, details });
}

function unsafePath(name: string, reason: string): AppError {
  return zipError('ZIP_PATH_UNSAFE', `The archive entry "${printableName(name)}" cannot be accepted: ${reason}.`, { entry: name });
}

function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}
