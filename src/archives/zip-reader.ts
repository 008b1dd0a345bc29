/**
 * Reads an uploaded ZIP without trusting it: `inspectArchive` lists the files and returns the
 * size-capped manifest, `extractEntries` streams chosen files into a staging folder under
 * server-made names. No name from the archive ever reaches `fs`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import type { ZipFile } from 'yauzl';
import { MANIFEST_NAME, normalizeEntryName, printableName } from './entry-names.ts';
import { openZip, toArchiveError, walkEntries, zipError, type WalkedEntry, type ZipLimits } from './zip-walk.ts';

export type { ZipLimits } from './zip-walk.ts';

export interface ZipEntryInfo {
  name: string;
  size: number;
  compressedSize: number;
}

export interface ArchiveInspection {
  entries: ZipEntryInfo[];
  manifestXml: Buffer;
}

export interface ExtractedFile {
  /** Absolute path of the staged copy: stagingDir + 32 random hex characters. */
  path: string;
  size: number;
  sha256: string;
}

export const DEFAULT_ZIP_LIMITS: Readonly<ZipLimits> = Object.freeze({
  maxEntries: 10_000,
  maxEntryBytes: 2 * 1024 ** 3,
  maxTotalBytes: 4 * 1024 ** 3,
  maxRatio: 100,
  maxManifestBytes: 256 * 1024,
});

/** Lists the archive's files (directories dropped, names canonical) and reads manifest.xml. */
export async function inspectArchive(zipPath: string, limits: ZipLimits): Promise<ArchiveInspection> {
  const zipfile = await openZip(zipPath);
  try {
    const entries = await walkEntries(zipfile, limits);
    const manifest = findManifest(entries, limits);
    const manifestXml = await readCapped(zipfile, manifest, limits.maxManifestBytes);
    return { entries: entries.map(toInfo), manifestXml };
  } finally {
    zipfile.close();
  }
}

/**
 * Streams only the named entries into stagingDir under opaque random names, hashing and counting
 * while streaming. The map is keyed by canonical entry name. On any error every file written so
 * far is removed before the error is rethrown.
 */
export async function extractEntries(
  zipPath: string,
  names: string[],
  stagingDir: string,
  limits: ZipLimits,
): Promise<Map<string, ExtractedFile>> {
  const wanted = new Set(names.map(normalizeEntryName));
  const written: string[] = [];
  const zipfile = await openZip(zipPath);
  try {
    const entries = await walkEntries(zipfile, limits);
    checkAllPresent(wanted, entries);
    const budget = { remaining: limits.maxTotalBytes };
    const result = new Map<string, ExtractedFile>();
    for (const walked of entries) {
      if (!wanted.has(walked.name)) continue;
      const target = path.join(stagingDir, randomBytes(16).toString('hex'));
      written.push(target);
      result.set(walked.name, await extractOne(zipfile, walked, target, budget));
    }
    return result;
  } catch (error) {
    await Promise.all(written.map((file) => rm(file, { force: true })));
    throw error;
  } finally {
    zipfile.close();
  }
}

function toInfo({ name, entry }: WalkedEntry): ZipEntryInfo {
  return { name, size: entry.uncompressedSize, compressedSize: entry.compressedSize };
}

function findManifest(entries: WalkedEntry[], limits: ZipLimits): WalkedEntry {
  const manifest = entries.find((e) => e.name === MANIFEST_NAME);
  if (!manifest) {
    const nested = entries.find((e) => e.name.endsWith(`/${MANIFEST_NAME}`));
    const hint = nested ? ` It has "${printableName(nested.name)}": create the ZIP from inside that folder.` : '';
    throw zipError('MANIFEST_MISSING', `The archive has no ${MANIFEST_NAME} at its top level.${hint}`, nested ? { found: nested.name } : {});
  }
  const size = manifest.entry.uncompressedSize;
  if (size > limits.maxManifestBytes) throw manifestTooLarge(limits.maxManifestBytes, size);
  return manifest;
}

function manifestTooLarge(limit: number, size?: number): Error {
  const what = size === undefined ? 'is larger than' : `is ${size} bytes;`;
  const rest = size === undefined ? `${limit} bytes.` : `at most ${limit} are allowed.`;
  return zipError('MANIFEST_TOO_LARGE', `The ${MANIFEST_NAME} ${what} ${rest}`, { entry: MANIFEST_NAME, limit });
}

/** The manifest is the one entry held in memory, so the bytes read are capped as well as declared. */
async function readCapped(zipfile: ZipFile, { name, entry }: WalkedEntry, cap: number): Promise<Buffer> {
  const stream = await openEntryStream(zipfile, entry, name);
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > cap) throw manifestTooLarge(cap);
      chunks.push(chunk);
    }
  } catch (error) {
    stream.destroy();
    throw toArchiveError(error, name);
  }
  return Buffer.concat(chunks, total);
}

function checkAllPresent(wanted: Set<string>, entries: WalkedEntry[]): void {
  const present = new Set(entries.map((e) => e.name));
  const missing = [...wanted].filter((name) => !present.has(name));
  if (missing.length > 0) {
    const list = missing.map((name) => `"${printableName(name)}"`).join(', ');
    throw zipError('NOT_IN_ARCHIVE', `The archive has no file named ${list}.`, { entry: missing[0], missing });
  }
}

async function extractOne(zipfile: ZipFile, walked: WalkedEntry, target: string, budget: { remaining: number }): Promise<ExtractedFile> {
  // Created before any data flows so that cleanup always finds it, even when the stream fails
  // while a lazily opened write stream would still be opening. `wx` refuses to follow anything
  // already at this path.
  const meter = new EntryMeter(walked, budget);
  let handle: FileHandle | undefined;
  try {
    handle = await open(target, 'wx', 0o640);
    const source = await openEntryStream(zipfile, walked.entry, walked.name);
    await pipeline(source, meter, handle.createWriteStream());
  } catch (error) {
    throw toArchiveError(error, walked.name);
  } finally {
    await handle?.close().catch(() => undefined);
  }
  return { path: target, size: meter.size, sha256: meter.digest() };
}

function openEntryStream(zipfile: ZipFile, entry: WalkedEntry['entry'], name: string): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zipfile.openReadStream(entry, (error, stream) => {
      if (error) return reject(toArchiveError(error, name));
      // yauzl forwards some errors with setImmediate after the consumer may have detached; a
      // late error without a listener would crash the process. pipeline reports the first one.
      stream.on('error', () => undefined);
      resolve(stream);
    });
  });
}

/**
 * Hashes and counts the bytes on their way to disk. yauzl already enforces the declared size;
 * this is the second fence, plus the CRC-32 check yauzl does not do.
 */
class EntryMeter extends Transform {
  size = 0;
  private crc = 0;
  private readonly hash = createHash('sha256');

  constructor(
    private readonly walked: WalkedEntry,
    private readonly budget: { remaining: number },
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null, data?: Buffer) => void): void {
    this.size += chunk.length;
    this.budget.remaining -= chunk.length;
    if (this.size > this.walked.entry.uncompressedSize || this.budget.remaining < 0) {
      return callback(this.corrupt(`more data than declared (at least ${this.size} bytes)`));
    }
    this.hash.update(chunk);
    this.crc = crc32(chunk, this.crc);
    callback(null, chunk);
  }

  override _flush(callback: (error?: Error | null) => void): void {
    if (this.size !== this.walked.entry.uncompressedSize) return callback(this.corrupt(`only ${this.size} bytes of data`));
    if (this.crc >>> 0 !== this.walked.entry.crc32 >>> 0) return callback(this.corrupt('CRC-32 mismatch'));
    callback();
  }

  digest(): string {
    return this.hash.digest('hex');
  }

  private corrupt(reason: string): Error {
    return toArchiveError(new Error(`${reason} in entry ${this.walked.name}`), this.walked.name);
  }
}
