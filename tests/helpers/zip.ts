/**
 * A small ZIP writer for tests, so that hostile archives are built byte by byte instead of
 * shipped as opaque fixtures: lying sizes, fake encryption flags, symlink attributes, raw name
 * bytes and a lying entry count are all one option away.
 *
 * Layout written (APPNOTE.TXT 4.3.6): [prefix] { local file header, data }* central directory
 * end of central directory. No data descriptors, no ZIP64, DOS time fixed at 2024-01-01 00:00.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';

export interface ZipEntrySpec {
  data?: Buffer | string;
  /** 0 stored, 8 deflate (default); 12 bzip2, 14 LZMA and 99 AES are only labelled: data is kept as is. */
  method?: 0 | 8 | 12 | 14 | 99;
  /** Bytes written as the entry's file data instead of the (compressed) data; sizes and CRC still describe data. */
  payload?: Buffer;
  /** More general-purpose flag bits, e.g. 0x40 (strong encryption). */
  extraFlags?: number;
  /** Sets the traditional-encryption flag and prepends the 12-byte encryption header. */
  encrypted?: boolean;
  /** Unix mode 0o120777 in the external attributes; data is the link target. */
  symlink?: boolean;
  /** Exact name bytes; the entries key is then only a label (so two entries can share a name). */
  rawName?: Buffer;
  /** Uncompressed size written to both headers instead of the true one. */
  declaredSize?: number;
  /** CRC-32 written instead of the true one. */
  crc?: number;
  /** General-purpose bit 11; defaults to true when the name is not plain ASCII. */
  utf8Flag?: boolean;
  /** Full 32-bit external attributes (overrides symlink). */
  externalAttributes?: number;
}

export type ZipEntries = Record<string, Buffer | string | ZipEntrySpec>;

export interface BuildZipOptions {
  /** Entry count written to the end-of-central-directory record instead of the true one. */
  entryCountOverride?: number;
  /** Bytes before the first local header (a self-extractor stub, a polyglot). */
  prefix?: Buffer;
}

const VERSION_NEEDED = 20;
const MADE_BY_UNIX = (3 << 8) | VERSION_NEEDED;
const DOS_TIME = 0;
const DOS_DATE = ((2024 - 1980) << 9) | (1 << 5) | 1;
const REGULAR_FILE = (0o100644 << 16) >>> 0;
const SYMLINK = (0o120777 << 16) >>> 0;

interface Prepared {
  name: Buffer;
  flags: number;
  method: number;
  crc: number;
  size: number;
  payload: Buffer;
  externalAttributes: number;
}

export function buildZip(entries: ZipEntries, options: BuildZipOptions = {}): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  if (options.prefix) {
    parts.push(options.prefix);
    offset += options.prefix.length;
  }
  for (const [label, value] of Object.entries(entries)) {
    const entry = prepare(label, value);
    const local = localHeader(entry);
    central.push(centralHeader(entry, offset));
    parts.push(local, entry.payload);
    offset += local.length + entry.payload.length;
  }
  const directory = Buffer.concat(central);
  const count = options.entryCountOverride ?? central.length;
  parts.push(directory, endOfCentralDirectory(count, directory.length, offset));
  return Buffer.concat(parts);
}

/** Writes the archive to dir/fileName and returns its path. */
export function writeZip(dir: string, entries: ZipEntries, options: BuildZipOptions & { fileName?: string } = {}): string {
  const file = path.join(dir, options.fileName ?? 'archive.zip');
  fs.writeFileSync(file, buildZip(entries, options));
  return file;
}

/** A fresh directory under the OS temp dir; remove it with removeTempDir. */
export function makeTempDir(prefix = 'archives-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

function prepare(label: string, value: Buffer | string | ZipEntrySpec): Prepared {
  const spec: ZipEntrySpec = typeof value === 'string' || Buffer.isBuffer(value) ? { data: value } : value;
  // Buffers are used as given, not copied: a test may pass hundreds of megabytes of zeros.
  const data = typeof spec.data === 'string' ? Buffer.from(spec.data, 'utf8') : (spec.data ?? Buffer.alloc(0));
  const name = spec.rawName ?? Buffer.from(label, 'utf8');
  const method = spec.method ?? 8;
  let payload = spec.payload ?? (method === 8 ? deflateRawSync(data) : data);
  if (spec.encrypted) payload = Buffer.concat([Buffer.alloc(12, 0xa5), payload]);
  const ascii = name.every((byte) => byte < 0x80);
  const utf8 = spec.utf8Flag ?? !ascii;
  return {
    name,
    flags: (spec.encrypted ? 0x1 : 0) | (utf8 ? 0x800 : 0) | (spec.extraFlags ?? 0),
    method,
    crc: spec.crc ?? crc32(data),
    size: spec.declaredSize ?? data.length,
    payload,
    externalAttributes: spec.externalAttributes ?? (spec.symlink ? SYMLINK : REGULAR_FILE),
  };
}

function localHeader(entry: Prepared): Buffer {
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(VERSION_NEEDED, 4);
  header.writeUInt16LE(entry.flags, 6);
  header.writeUInt16LE(entry.method, 8);
  header.writeUInt16LE(DOS_TIME, 10);
  header.writeUInt16LE(DOS_DATE, 12);
  header.writeUInt32LE(entry.crc >>> 0, 14);
  header.writeUInt32LE(entry.payload.length, 18);
  header.writeUInt32LE(entry.size, 22);
  header.writeUInt16LE(entry.name.length, 26);
  header.writeUInt16LE(0, 28);
  return Buffer.concat([header, entry.name]);
}

function centralHeader(entry: Prepared, localOffset: number): Buffer {
  const header = Buffer.alloc(46);
  header.writeUInt32LE(0x02014b50, 0);
  header.writeUInt16LE(MADE_BY_UNIX, 4);
  header.writeUInt16LE(VERSION_NEEDED, 6);
  header.writeUInt16LE(entry.flags, 8);
  header.writeUInt16LE(entry.method, 10);
  header.writeUInt16LE(DOS_TIME, 12);
  header.writeUInt16LE(DOS_DATE, 14);
  header.writeUInt32LE(entry.crc >>> 0, 16);
  header.writeUInt32LE(entry.payload.length, 20);
  header.writeUInt32LE(entry.size, 24);
  header.writeUInt16LE(entry.name.length, 28);
  // 30 extra length, 32 comment length, 34 disk number, 36 internal attributes: all zero.
  header.writeUInt32LE(entry.externalAttributes >>> 0, 38);
  header.writeUInt32LE(localOffset, 42);
  return Buffer.concat([header, entry.name]);
}

function endOfCentralDirectory(count: number, size: number, offset: number): Buffer {
  const record = Buffer.alloc(22);
  record.writeUInt32LE(0x06054b50, 0);
  // 4 this disk, 6 disk with the central directory: both zero.
  record.writeUInt16LE(count, 8);
  record.writeUInt16LE(count, 10);
  record.writeUInt32LE(size, 12);
  record.writeUInt32LE(offset, 16);
  // 20 comment length: zero.
  return record;
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & { status?: number; code?: string; details?: Record<string, unknown> }> {
  const outcome = await promise.then(
    () => ({ resolved: true as const }),
    (error: unknown) => ({ resolved: false as const, error }),
  );
  if (outcome.resolved) throw new Error('expected the promise to reject, but it resolved');
  if (!(outcome.error instanceof Error)) throw new Error(`expected an Error, got ${String(outcome.error)}`);
  return outcome.error;
}
