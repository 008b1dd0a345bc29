/**
 * The rows of a validated import, written set by set inside the caller's transaction: one
 * multi-row insert for the new downloads, one for their labels, one for the replaced files'
 * history. An archive of a thousand files is then a few dozen statements rather than several
 * thousand round trips, which is what keeps an import close to the time `unzip` needs.
 */
import { join, sqltag as sql } from '@prisma/client/runtime/client';
import type { Tx } from '../db.ts';
import type { IncomingFile } from './download-service.ts';
import { formatLabel, type LabelParts } from './labels.ts';

/** Lists cut to a size every database accepts as statement parameters (SQLite's limit is lowest). */
export function chunks<T>(items: T[], size = 200): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

interface NewDownload {
  slug: string;
  title: string;
  description: string;
  fileName: string;
  labels: LabelParts[];
  deprecates?: number;
  columns: FileColumns;
}

interface ReplacedFile {
  id: number;
  title: string;
  description: string;
  fileName: string;
  labels: LabelParts[];
  columns: FileColumns;
}

export interface FileColumns {
  fileKey: string;
  originalName: string;
  size: bigint;
  sha256: string;
  mimeType: string;
  fileUpdatedAt: Date;
}

export interface ImportRows {
  creates: NewDownload[];
  replaces: ReplacedFile[];
  state: string;
  primaryCategoryId: number | null;
  createdById: number | null;
  deprecatedLabel: LabelParts;
  now: Date;
}

/** Writes everything; returns the ids of the new downloads (in order) and of the deprecated ones. */
export async function writeImportRows(tx: Tx, rows: ImportRows): Promise<{ createdIds: number[]; deprecatedIds: number[] }> {
  const deprecatedKey = formatLabel(rows.deprecatedLabel);
  // The deprecated label follows the flag, never the manifest.
  const own = (labels: LabelParts[]) => labels.filter((l) => formatLabel(l) !== deprecatedKey);
  const labelIds = await ensureLabels(tx, [...rows.creates, ...rows.replaces].flatMap((r) => r.labels).concat(rows.deprecatedLabel));
  const createdIds = await insertDownloads(tx, rows);
  const stillDeprecated = await replaceFiles(tx, rows);
  await linkLabels(
    tx,
    [
      ...rows.creates.map((c, i) => ({ downloadId: createdIds[i]!, labels: own(c.labels) })),
      ...rows.replaces.map((r) => ({ downloadId: r.id, labels: stillDeprecated.has(r.id) ? [...own(r.labels), rows.deprecatedLabel] : own(r.labels) })),
    ],
    labelIds,
  );
  const deprecations = rows.creates.flatMap((c, i) => (c.deprecates === undefined ? [] : [{ id: c.deprecates, successorId: createdIds[i]! }]));
  await deprecate(tx, deprecations, labelIds.get(formatLabel(rows.deprecatedLabel))!, rows.now);
  return { createdIds, deprecatedIds: deprecations.map((d) => d.id) };
}

async function ensureLabels(tx: Tx, labels: LabelParts[]): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  const distinct = new Map(labels.map((l) => [formatLabel(l), l]));
  for (const [key, label] of distinct) {
    const row = await tx.label.upsert({
      where: { class_name: { class: label.class, name: label.name } },
      update: {},
      create: { class: label.class, name: label.name },
      select: { id: true },
    });
    ids.set(key, row.id);
  }
  return ids;
}

/**
 * The new rows as one raw multi-row INSERT per chunk. Prisma's createMany builds and interprets
 * its query in JavaScript at about 25 MB of short-lived objects per 200 downloads, which was
 * most of an import's memory peak; the raw statement costs a tenth of that. Dates are given
 * explicitly (the adapters store them as Prisma does) since Prisma fills @default(now()) and
 * @updatedAt itself; the other columns keep their database defaults.
 */
async function insertDownloads(tx: Tx, rows: ImportRows): Promise<number[]> {
  const idBySlug = new Map<string, number>();
  for (const part of chunks(rows.creates)) {
    const values = part.map(
      (c) =>
        sql`(${c.slug}, ${c.title}, ${c.description}, 'file', ${c.fileName}, ${c.columns.fileKey}, ${c.columns.originalName}, ${c.columns.size}, ${c.columns.sha256}, ${c.columns.mimeType}, ${c.columns.fileUpdatedAt}, ${rows.state}, ${rows.primaryCategoryId}, ${rows.createdById}, ${rows.now}, ${rows.now})`,
    );
    const inserted = await tx.$queryRaw<{ id: number | bigint; slug: string }[]>`
      INSERT INTO "Download" ("slug", "title", "description", "kind", "fileName", "fileKey", "originalName", "size", "sha256", "mimeType", "fileUpdatedAt", "state", "primaryCategoryId", "createdById", "createdAt", "updatedAt")
      VALUES ${join(values)}
      RETURNING "id", "slug"`;
    for (const row of inserted) idBySlug.set(row.slug, Number(row.id));
  }
  return rows.creates.map((c) => idBySlug.get(c.slug)!);
}

/**
 * The replaced file and the count it earned go to the history; the new one starts at 0. Returns
 * the replaced downloads that are deprecated (they stay so).
 */
async function replaceFiles(tx: Tx, rows: ImportRows): Promise<Set<number>> {
  const deprecated = new Set<number>();
  for (const part of chunks(rows.replaces)) {
    const current = await tx.download.findMany({ where: { id: { in: part.map((r) => r.id) } } });
    await tx.fileVersion.createMany({
      data: current
        .filter((d) => d.fileKey)
        .map((d) => ({
          downloadId: d.id,
          fileKey: d.fileKey!,
          fileName: d.fileName,
          size: d.size,
          sha256: d.sha256,
          mimeType: d.mimeType,
          downloadCount: d.fileDownloadCount,
          createdAt: d.fileUpdatedAt ?? d.createdAt,
        })),
    });
    for (const d of current) if (d.deprecated) deprecated.add(d.id);
    for (const r of part) {
      await tx.download.update({
        where: { id: r.id },
        data: { kind: 'file', remoteUrl: null, ...r.columns, fileDownloadCount: 0n, fileName: r.fileName, title: r.title, description: r.description },
      });
    }
    await tx.downloadLabel.deleteMany({ where: { downloadId: { in: part.map((r) => r.id) } } });
  }
  return deprecated;
}

async function linkLabels(tx: Tx, items: { downloadId: number; labels: LabelParts[] }[], labelIds: Map<string, number>): Promise<void> {
  const links = items.flatMap(({ downloadId, labels }) => [...new Set(labels.map((l) => labelIds.get(formatLabel(l))!))].map((labelId) => ({ downloadId, labelId })));
  await insertLabelLinks(tx, links);
}

/** Raw for the same reason as insertDownloads: a thousand downloads have thousands of links. */
async function insertLabelLinks(tx: Tx, links: { downloadId: number; labelId: number }[]): Promise<void> {
  for (const part of chunks(links, 400)) {
    await tx.$executeRaw`INSERT INTO "DownloadLabel" ("downloadId", "labelId") VALUES ${join(part.map((l) => sql`(${l.downloadId}, ${l.labelId})`))}`;
  }
}

/** Flag, deprecated label (added to the labels it has) and successor; the first deprecation date stays. */
async function deprecate(tx: Tx, items: { id: number; successorId: number }[], labelId: number, now: Date): Promise<void> {
  if (!items.length) return;
  for (const part of chunks(items)) {
    const ids = part.map((d) => d.id);
    await tx.download.updateMany({ where: { id: { in: ids }, deprecatedAt: null }, data: { deprecatedAt: now } });
    await tx.downloadLabel.deleteMany({ where: { downloadId: { in: ids }, labelId } });
    await insertLabelLinks(tx, ids.map((downloadId) => ({ downloadId, labelId })));
  }
  for (const d of items) await tx.download.update({ where: { id: d.id }, data: { deprecated: true, successorId: d.successorId } });
}
