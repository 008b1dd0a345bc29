/**
 * Reads an uploaded ZIP without trusting it: `inspectArchive` lists the files and returns the
 * size-capped manifest, `extractEntries` streams chosen files into a staging folder under
 * server-made names. No name from the archive ever reaches `fs`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import zlib, { crc32 } from 'node:zlib';
import type { ZipFile } from 'yauzl';
import { MANIFEST_NAME, normalizeEntryName, printableName } from './entry-names.ts';
import { openZip, readArchiveBytes, toArchiveError, walkEntries, zipError, type WalkedEntry, type ZipLimits } from './zip-walk.ts';

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
 * Entries unpacked at once. One at a time, every small read, inflate and write waits on the one
 * before it (the thread pool sits idle); a few in flight keep the disk and both cores busy.
 */
const EXTRACT_CONCURRENCY = 4;
const WRITE_BUFFER_BYTES = 512 * 1024;
const INFLATE_CHUNK_BYTES = 128 * 1024;
const inflateRaw = promisify(zlib.inflateRaw);
/** Entries inflated whole are held in memory once each, so only small ones take that path. */
const INFLATE_WHOLE_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Streams only the named entries into stagingDir under opaque random names, hashing and counting
 * while streaming. The map is keyed by canonical entry name. On any error no new entry starts,
 * the ones in flight finish or fail, and every file written is removed before the first error
 * is rethrown.
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
    const queue = entries.filter((walked) => wanted.has(walked.name));
    let failure: { error: unknown } | undefined;
    const worker = async () => {
      const buffer = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
      for (let walked = queue.shift(); walked && !failure; walked = queue.shift()) {
        const target = path.join(stagingDir, randomBytes(16).toString('hex'));
        written.push(target);
        try {
          result.set(walked.name, await extractOne(zipfile, walked, target, budget, buffer));
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: EXTRACT_CONCURRENCY }, worker));
    if (failure) throw failure.error;
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
async function readCapped(zipfile: ZipFile, walked: WalkedEntry, cap: number): Promise<Buffer> {
  const { name, entry } = walked;
  const stream = await openEntryStream(zipfile, entry, name);
  const meter = new EntryMeter(walked, { remaining: Number.POSITIVE_INFINITY });
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > cap) throw manifestTooLarge(cap);
      meter.update(chunk);
      chunks.push(chunk);
    }
    meter.finish();
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

async function extractOne(zipfile: ZipFile, walked: WalkedEntry, target: string, budget: { remaining: number }, buffer: Buffer): Promise<ExtractedFile> {
  // Created before any data flows so that cleanup always finds it, even when reading fails
  // early. `wx` refuses to follow anything already at this path.
  const meter = new EntryMeter(walked, budget);
  let handle: FileHandle | undefined;
  try {
    handle = await open(target, 'wx', 0o640);
    if (walked.entry.compressionMethod === 0) await copyStored(zipfile, walked, handle, meter, buffer);
    else if (walked.entry.compressedSize <= buffer.length && walked.entry.uncompressedSize <= INFLATE_WHOLE_MAX_BYTES) await inflateWhole(zipfile, walked, handle, meter, buffer);
    else await copyInflated(zipfile, walked, handle, meter);
    meter.finish();
  } catch (error) {
    throw toArchiveError(error, walked.name);
  } finally {
    await handle?.close().catch(() => undefined);
  }
  return { path: target, size: meter.size, sha256: meter.digest() };
}

/**
 * A stored entry is a byte range of the archive: read, metered and written through one buffer
 * the worker reuses, so a gigabyte of binaries leaves no garbage behind (garbage Buffers are
 * what made the resident memory of an import grow).
 */
async function copyStored(zipfile: ZipFile, walked: WalkedEntry, handle: FileHandle, meter: EntryMeter, buffer: Buffer): Promise<void> {
  const { fileDataStart } = await zipfile.readLocalFileHeaderPromise(walked.entry, { minimal: true });
  // Stored means the data is the file: any other size in the directory is a lie.
  if (walked.entry.compressedSize !== walked.entry.uncompressedSize) {
    throw new Error(`stored entry ${walked.name} declares ${walked.entry.compressedSize} bytes of data for ${walked.entry.uncompressedSize} bytes of file`);
  }
  const end = fileDataStart + walked.entry.compressedSize;
  for (let position = fileDataStart; position < end; ) {
    const bytesRead = await readArchiveBytes(zipfile, buffer, Math.min(buffer.length, end - position), position);
    if (bytesRead === 0) throw new Error(`unexpected end of file in entry ${walked.name}`);
    const chunk = buffer.subarray(0, bytesRead);
    meter.update(chunk);
    await handle.write(chunk);
    position += bytesRead;
  }
}

/**
 * A small deflated entry (most of a release: notes, checksums, packages under half a mebibyte)
 * in one read, one inflate in the thread pool and one write. Streamed, each such entry costs a
 * dozen trips between JavaScript and the thread pool, and those trips, not the inflating, were
 * most of an import's time. The output may not exceed the declared size (the inflate stops
 * there), so a lying entry cannot allocate more than it declared.
 */
async function inflateWhole(zipfile: ZipFile, walked: WalkedEntry, handle: FileHandle, meter: EntryMeter, buffer: Buffer): Promise<void> {
  const { compressedSize, uncompressedSize } = walked.entry;
  const { fileDataStart } = await zipfile.readLocalFileHeaderPromise(walked.entry, { minimal: true });
  let length = 0;
  while (length < compressedSize) {
    const bytesRead = await readArchiveBytes(zipfile, buffer.subarray(length), compressedSize - length, fileDataStart + length);
    if (bytesRead === 0) throw new Error(`unexpected end of file in entry ${walked.name}`);
    length += bytesRead;
  }
  // One byte more than declared is enough to see that an entry lies about its size, and one
  // output chunk for the whole entry saves a main-thread callback per default 16 KiB chunk.
  const output = uncompressedSize + 1;
  const data = await inflateRaw(buffer.subarray(0, length), { maxOutputLength: output, chunkSize: Math.max(output, 1024) }).catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'ERR_BUFFER_TOO_LARGE' ? new Error(`more data than declared in entry ${walked.name}`) : error;
  });
  meter.update(data);
  await handle.write(data);
}

/**
 * Inflated chunks are small; writing each on its own costs a trip through the thread pool per
 * chunk. They are gathered and written half a mebibyte at a time instead, and awaiting the
 * write pauses the entry's stream (backpressure, bounded memory).
 */
async function copyInflated(zipfile: ZipFile, walked: WalkedEntry, handle: FileHandle, meter: EntryMeter): Promise<void> {
  const source = await openEntryStream(zipfile, walked.entry, walked.name);
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    for await (const chunk of source as AsyncIterable<Buffer>) {
      meter.update(chunk);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= WRITE_BUFFER_BYTES) {
        await handle.writev(pending);
        pending = [];
        pendingBytes = 0;
      }
    }
    if (pending.length) await handle.writev(pending);
  } finally {
    source.destroy();
  }
}

/**
 * The entry's data, inflated. yauzl is asked for the raw bytes and the inflating is done here,
 * with larger output chunks than yauzl's default 16 KiB: each chunk is a round trip between the
 * zlib thread and JavaScript. The declared size is then enforced by EntryMeter (which stops
 * reading as soon as an entry outgrows it), no longer by yauzl.
 */
function openEntryStream(zipfile: ZipFile, entry: WalkedEntry['entry'], name: string): Promise<Readable> {
  const deflated = entry.compressionMethod === 8;
  return new Promise((resolve, reject) => {
    zipfile.openReadStream(entry, deflated ? { decodeFileData: false } : {}, (error, raw) => {
      if (error) return reject(toArchiveError(error, name));
      // yauzl forwards some errors with setImmediate after the consumer may have detached; a
      // late error without a listener would crash the process. The consumer sees the first one.
      raw.on('error', () => undefined);
      if (!deflated) return resolve(raw);
      const inflate = zlib.createInflateRaw({ chunkSize: INFLATE_CHUNK_BYTES });
      raw.on('error', (rawError) => inflate.destroy(rawError));
      inflate.on('close', () => raw.destroy());
      resolve(raw.pipe(inflate));
    });
  });
}

/**
 * Hashes and counts the bytes on their way to disk. yauzl already enforces the declared size;
 * this is the second fence, plus the CRC-32 check yauzl does not do.
 */
class EntryMeter {
  size = 0;
  private crc = 0;
  private readonly hash = createHash('sha256');

  constructor(
    private readonly walked: WalkedEntry,
    private readonly budget: { remaining: number },
  ) {}

  update(chunk: Buffer): void {
    this.size += chunk.length;
    this.budget.remaining -= chunk.length;
    if (this.size > this.walked.entry.uncompressedSize || this.budget.remaining < 0) {
      throw this.corrupt(`more data than declared (at least ${this.size} bytes)`);
    }
    this.hash.update(chunk);
    this.crc = crc32(chunk, this.crc);
  }

  finish(): void {
    if (this.size !== this.walked.entry.uncompressedSize) throw this.corrupt(`only ${this.size} bytes of data`);
    if (this.crc >>> 0 !== this.walked.entry.crc32 >>> 0) throw this.corrupt('CRC-32 mismatch');
  }

  digest(): string {
    return this.hash.digest('hex');
  }

  private corrupt(reason: string): Error {
    return toArchiveError(new Error(`${reason} in entry ${this.walked.name}`), this.walked.name);
  }
}
