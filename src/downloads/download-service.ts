/**
 * Creating, changing and removing downloads. Files arrive staged (uploads, archive extraction,
 * the CLI) and are renamed into the file store only after every check has passed; the rows and
 * the webhook outbox are then written in one transaction, and a failed transaction removes the
 * files it would have referenced. Nothing half-written remains either way.
 */
import mime from 'mime-types';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { isUniqueViolation, type Db, type Tx } from '../db.ts';
import { conflict, notFound, unprocessable } from '../errors.ts';
import type { EventBus } from '../events/event-bus.ts';
import { enqueueWebhook, enqueueWebhooks, type WebhookEventType } from '../events/outbox.ts';
import { safeFileName } from '../lib/file-names.ts';
import type { FileStore } from '../storage/file-store.ts';
import type { StagedUpload } from '../storage/upload-middleware.ts';
import type { CategoryService } from './category-service.ts';
import { createInput, downloadChanges, type CreateInput, type DownloadChanges } from './download-schemas.ts';
import type { AdminFilters, DownloadRecord, DownloadRepository } from './download-repository.ts';
import { toDownloadJson, type DownloadJson } from './download-json.ts';
import { LabelError, formatLabel, oneMaxViolations, parseLabelList, type LabelParts } from './labels.ts';
import { firstFreeSlug, slugBase } from './slugs.ts';
import { chunks, writeImportRows } from './import-writer.ts';

export interface DownloadEvents {
  'download.created': DownloadJson;
  'download.updated': DownloadJson;
  'download.deprecated': DownloadJson;
  'download.deleted': { id: number; slug: string; title: string };
  'archive.imported': unknown;
}

/** A file ready to become a download's file: staged on the same disk, measured and hashed. */
export type IncomingFile = Pick<StagedUpload, 'path' | 'size' | 'sha256' | 'originalName'>;

export interface Actor {
  id: number;
}

/** A file an import brings in, with what the manifest says about it. */
export interface ImportedFile {
  file: IncomingFile;
  title: string;
  description: string;
  fileName: string;
  labels: LabelParts[];
}

/**
 * One archive import, already validated: new downloads (each may deprecate an older one), and
 * files that replace the file of an existing download. Written all together or not at all.
 */
export interface ImportBatch {
  creates: (ImportedFile & { slug: string; deprecates?: number })[];
  replaces: (ImportedFile & { id: number })[];
  state: 'published' | 'unpublished';
  primaryCategoryId?: number;
  /** The payload of the `archive.imported` event, from what was written. */
  describe(result: ImportResult): unknown;
}

export interface ImportResult {
  created: DownloadRecord[];
  replaced: DownloadRecord[];
  deprecated: DownloadRecord[];
}

/** What a manifest name may turn out to be: a download already serving a file of that name. */
export type NamedDownload = Pick<DownloadRecord, 'id' | 'slug' | 'fileName' | 'kind' | 'deprecated'>;

/** The source of a generated download (src/generators/): its kind, settings checked by the kind, and its input file. */
export interface GeneratedSource {
  kind: string;
  mimeType: string;
  /** JSON */
  settings: string;
  asset?: IncomingFile;
}

interface Deps {
  db: Db;
  dbKind: 'sqlite' | 'postgresql';
  repo: DownloadRepository;
  categories: CategoryService;
  files: FileStore;
  clock: Clock;
  config: Pick<Config, 'labels' | 'server'>;
  bus: EventBus<DownloadEvents>;
}

const messages = {
  oneSource: 'Give either a file or a remote URL, not both.',
  generatedSource: 'A generated download makes its own file: give neither a file nor a remote URL.',
  noSource: 'Upload a file or give a remote URL.',
  slugTaken: (slug: string) => `The slug "${slug}" is already used by another download.`,
  unknownCategory: 'One of the chosen categories does not exist.',
  unknownSuccessor: (slug: string) => `There is no download "${slug}" to name as successor.`,
  selfSuccessor: 'A download cannot be its own successor.',
  oneMax: (cls: string) => `Only one label of the class ${cls} is allowed.`,
  tooManyLabels: (max: number) => `A download can have at most ${max} labels.`,
  importRace: 'Another change touched the same downloads while this archive was being imported. Nothing was imported; try again.',
  window: 'Retract on must be later than publish on.',
};

export function createDownloadService(deps: Deps) {
  const { db, dbKind, repo, files, clock, config, bus } = deps;

  function parseLabels(text: string | undefined): LabelParts[] | undefined {
    if (text === undefined) return undefined;
    let labels: LabelParts[];
    try {
      labels = parseLabelList(text);
    } catch (error) {
      if (error instanceof LabelError) throw unprocessable(error.message, { code: 'LABEL_INVALID' });
      throw error;
    }
    const [cls] = oneMaxViolations(labels, config.labels.oneMaxClasses);
    if (cls) throw unprocessable(messages.oneMax(cls), { code: 'LABEL_ONE_MAX' });
    const max = config.labels.maxPerDownload;
    if (dedupe(labels).length > max) throw unprocessable(messages.tooManyLabels(max), { code: 'LABEL_TOO_MANY' });
    return labels;
  }

  async function checkCategories(ids: (number | null | undefined)[]) {
    const wanted = [...new Set(ids.filter((id): id is number => typeof id === 'number'))];
    if (!wanted.length) return;
    const found = await db.category.count({ where: { id: { in: wanted } } });
    if (found !== wanted.length) throw unprocessable(messages.unknownCategory, { code: 'CATEGORY_UNKNOWN' });
  }

  async function successorId(slug: string | null | undefined, selfId?: number): Promise<number | null | undefined> {
    if (slug === undefined) return undefined;
    if (slug === null) return null;
    const successor = await repo.findBySlug(slug);
    if (!successor) throw unprocessable(messages.unknownSuccessor(slug), { code: 'SUCCESSOR_UNKNOWN' });
    if (successor.id === selfId) throw unprocessable(messages.selfSuccessor, { code: 'SUCCESSOR_SELF' });
    return successor.id;
  }

  async function freeSlug(title: string, wanted: string | undefined, selfId?: number): Promise<string> {
    if (wanted) {
      const owner = await repo.findBySlug(wanted);
      if (owner && owner.id !== selfId) throw conflict(messages.slugTaken(wanted), { code: 'SLUG_TAKEN' });
      return wanted;
    }
    const base = slugBase(title);
    return firstFreeSlug(base, await repo.slugsStartingWith(base));
  }

  function fileColumns(file: IncomingFile, key: string, servedName: string) {
    return {
      fileKey: key,
      originalName: file.originalName,
      size: BigInt(file.size),
      sha256: file.sha256,
      mimeType: mime.lookup(servedName) || 'application/octet-stream',
      fileUpdatedAt: clock.now(),
    };
  }

  function checkWindow(publishOn: Date | null | undefined, retractOn: Date | null | undefined) {
    if (publishOn && retractOn && retractOn <= publishOn) throw unprocessable(messages.window, { code: 'WINDOW_INVALID' });
  }

  /** Writes rows in one transaction; files already committed are removed if it fails. */
  async function transact<T>(committedKeys: string[], work: (tx: Tx) => Promise<T>): Promise<T> {
    try {
      return await db.$transaction(work, { timeout: 30_000 });
    } catch (error) {
      await Promise.all(committedKeys.map((key) => files.remove(key)));
      if (isUniqueViolation(error)) throw conflict('Another change got there first (the slug is taken). Try again.', { code: 'CONFLICT', cause: error });
      throw error;
    }
  }

  async function emitAll(tx: Tx, events: [WebhookEventType, unknown][]) {
    for (const [type, data] of events) await enqueueWebhook(tx, type, data, clock.now());
  }

  const json = (d: DownloadRecord) => toDownloadJson(d, config.server.baseUrl);

  /**
   * Imports run one at a time: a name checked free by one import must still be free when it
   * writes. SQLite transactions are serial already; PostgreSQL takes a transaction-scoped lock.
   */
  async function serializeImports(tx: Tx) {
    if (dbKind === 'postgresql') await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock(7461001)');
  }

  /** The plan was made before the files were extracted; the database may have moved since. */
  async function checkStillAsPlanned(tx: Tx, batch: ImportBatch) {
    let clash = 0;
    for (const part of chunks(batch.creates.map((c) => c.fileName))) clash += await tx.download.count({ where: { fileName: { in: part } } });
    const targets = [...new Set([...batch.replaces.map((r) => r.id), ...batch.creates.flatMap((c) => (c.deprecates === undefined ? [] : [c.deprecates]))])];
    let present = 0;
    for (const part of chunks(targets)) present += await tx.download.count({ where: { id: { in: part } } });
    if (clash > 0 || present !== targets.length) throw conflict(messages.importRace, { code: 'CONFLICT' });
  }

  function importEvents(result: ImportResult): [WebhookEventType, unknown][] {
    return [
      ...result.created.map((d) => ['download.created', json(d)] as [WebhookEventType, unknown]),
      ...result.replaced.map((d) => ['download.updated', json(d)] as [WebhookEventType, unknown]),
      ...result.deprecated.flatMap((d) => [
        ['download.updated', json(d)] as [WebhookEventType, unknown],
        ['download.deprecated', json(d)] as [WebhookEventType, unknown],
      ]),
    ];
  }

  return {
    async create(raw: unknown, file: IncomingFile | undefined, actor?: Actor, generated?: GeneratedSource): Promise<DownloadRecord> {
      const input: CreateInput = createInput.parse(raw);
      if (file && input.remoteUrl) throw unprocessable(messages.oneSource, { code: 'SOURCE_CONFLICT' });
      if (generated && (file || input.remoteUrl)) throw unprocessable(messages.generatedSource, { code: 'SOURCE_CONFLICT' });
      if (!file && !input.remoteUrl && !generated) throw unprocessable(messages.noSource, { code: 'SOURCE_MISSING' });
      const labels = parseLabels(input.labels) ?? [];
      if (input.deprecated) labels.push(config.labels.deprecated);
      await checkCategories([input.primaryCategoryId, ...(input.categoryIds ?? [])]);
      checkWindow(input.publishOn, input.retractOn);
      const successor = await successorId(input.successorSlug);
      const slug = await freeSlug(input.title, input.slug || undefined);
      // A generated download without a name of its own is served as its kind names it.
      const servedName = generated
        ? input.fileName && safeFileName(input.fileName, slug)
        : safeFileName(input.fileName || (file ? file.originalName : new URL(input.remoteUrl!).pathname), slug);

      const key = file ? await files.commit(file.path) : undefined;
      const assetKey = generated?.asset ? await files.commit(generated.asset.path) : undefined;
      const created = await transact([key, assetKey].filter((k): k is string => !!k), async (tx) => {
        const row = await tx.download.create({
          data: {
            slug,
            title: input.title,
            description: input.description ?? '',
            kind: generated?.kind ?? (file ? 'file' : 'remote'),
            fileName: servedName || null,
            ...(file && key && servedName ? fileColumns(file, key, servedName) : { mimeType: generated?.mimeType ?? (mime.lookup(servedName || '') || null) }),
            remoteUrl: input.remoteUrl ?? null,
            state: input.state ?? 'unpublished',
            visible: input.visible ?? true,
            publishOn: input.publishOn ?? null,
            retractOn: input.retractOn ?? null,
            requiresToken: input.requiresToken ?? false,
            tokenMaxDownloads: input.tokenMaxDownloads ?? null,
            tokenValidityDays: input.tokenValidityDays ?? null,
            primaryCategoryId: input.primaryCategoryId ?? null,
            deprecated: input.deprecated ?? false,
            deprecatedAt: input.deprecated ? clock.now() : null,
            successorId: successor ?? null,
            createdById: actor?.id ?? null,
          },
        });
        if (generated) {
          await tx.generatorSettings.create({
            data: { downloadId: row.id, kind: generated.kind, settings: generated.settings, assetKey: assetKey ?? null, assetSha256: generated.asset?.sha256 ?? null },
          });
        }
        await repo.setLabels(tx, row.id, dedupe(labels));
        await repo.setCategories(tx, row.id, input.categoryIds ?? []);
        const full = (await repo.findById(row.id, tx))!;
        await emitAll(tx, [['download.created', json(full)]]);
        return full;
      });
      bus.emit('download.created', json(created));
      return created;
    },

    /** `generated`: new settings (and input file) of a generated download, already checked by its kind. */
    async update(id: number, raw: unknown, file?: IncomingFile, generated?: Pick<GeneratedSource, 'settings' | 'asset'>): Promise<DownloadRecord> {
      const changes: DownloadChanges = downloadChanges.parse(raw);
      const current = await repo.findById(id);
      if (!current) throw notFound('This download does not exist.');
      const source = sourcePatch(current, file, changes.remoteUrl);
      let labels = parseLabels(changes.labels);
      const deprecated = changes.deprecated ?? current.deprecated;
      if (changes.deprecated !== undefined || labels) {
        // The deprecated label follows the flag, whatever the label list says.
        const base = labels ?? current.labels.map((l) => l.label);
        labels = base.filter((l) => formatLabel(l) !== formatLabel(config.labels.deprecated));
        if (deprecated) labels.push(config.labels.deprecated);
      }
      await checkCategories([changes.primaryCategoryId, ...(changes.categoryIds ?? [])]);
      checkWindow(
        changes.publishOn === undefined ? current.publishOn : changes.publishOn,
        changes.retractOn === undefined ? current.retractOn : changes.retractOn,
      );
      const successor = await successorId(changes.successorSlug, id);
      const slug = changes.slug ? await freeSlug(changes.title ?? current.title, changes.slug, id) : undefined;
      const servedName = changes.fileName ? safeFileName(changes.fileName, current.slug) : undefined;
      const becameDeprecated = deprecated && !current.deprecated;

      const key = file ? await files.commit(file.path) : undefined;
      const assetKey = generated?.asset && current.generator ? await files.commit(generated.asset.path) : undefined;
      const updated = await transact([key, assetKey].filter((k): k is string => !!k), async (tx) => {
        if (file && key) await recordVersion(tx, current);
        await tx.download.update({
          where: { id },
          data: {
            ...source,
            ...(file && key ? { ...fileColumns(file, key, servedName ?? current.fileName ?? file.originalName), fileDownloadCount: 0n } : {}),
            ...(servedName && !file && !current.generator ? { mimeType: mime.lookup(servedName) || current.mimeType } : {}),
            title: changes.title,
            slug,
            description: changes.description,
            // An emptied name sends a generated download back to its kind's name.
            fileName: servedName ?? (current.generator && changes.fileName === '' ? null : undefined),
            state: changes.state,
            visible: changes.visible,
            publishOn: changes.publishOn,
            retractOn: changes.retractOn,
            requiresToken: changes.requiresToken,
            tokenMaxDownloads: changes.tokenMaxDownloads,
            tokenValidityDays: changes.tokenValidityDays,
            primaryCategoryId: changes.primaryCategoryId,
            deprecated: changes.deprecated,
            deprecatedAt: changes.deprecated === undefined ? undefined : deprecated ? (current.deprecatedAt ?? clock.now()) : null,
            successorId: successor,
          },
        });
        if (generated && current.generator) {
          await tx.generatorSettings.update({
            where: { downloadId: id },
            data: { settings: generated.settings, ...(assetKey ? { assetKey, assetSha256: generated.asset!.sha256 } : {}) },
          });
        }
        if (labels) await repo.setLabels(tx, id, dedupe(labels));
        if (changes.categoryIds) await repo.setCategories(tx, id, changes.categoryIds);
        const full = (await repo.findById(id, tx))!;
        const events: [WebhookEventType, unknown][] = [['download.updated', json(full)]];
        if (becameDeprecated) events.push(['download.deprecated', json(full)]);
        await emitAll(tx, events);
        return full;
      });
      // The replaced input file is not kept (unlike replaced files: it earned no downloads of its own).
      if (assetKey && current.generator?.assetKey) await files.remove(current.generator.assetKey);
      bus.emit('download.updated', json(updated));
      if (becameDeprecated) bus.emit('download.deprecated', json(updated));
      return updated;
    },

    /**
     * Writes a validated import: every file is renamed into the store, then every row (new
     * downloads, replaced files with their history, deprecations, the outbox) in one transaction.
     * If anything fails, the files are removed again and no row remains.
     */
    async importBatch(batch: ImportBatch, actor?: Actor): Promise<ImportResult> {
      const keys: string[] = [];
      try {
        for (const item of [...batch.creates, ...batch.replaces]) keys.push(await files.commit(item.file.path));
      } catch (error) {
        await Promise.all(keys.map((key) => files.remove(key)));
        throw error;
      }
      const keyOf = new Map([...batch.creates, ...batch.replaces].map((item, i) => [item, keys[i]!]));
      const result = await transact(keys, async (tx) => {
        await serializeImports(tx);
        await checkStillAsPlanned(tx, batch);
        const { createdIds, deprecatedIds } = await writeImportRows(tx, {
          creates: batch.creates.map((c) => ({ ...c, columns: fileColumns(c.file, keyOf.get(c)!, c.fileName) })),
          replaces: batch.replaces.map((r) => ({ ...r, columns: fileColumns(r.file, keyOf.get(r)!, r.fileName) })),
          state: batch.state,
          primaryCategoryId: batch.primaryCategoryId ?? null,
          createdById: actor?.id ?? null,
          deprecatedLabel: config.labels.deprecated,
          now: clock.now(),
        });
        const byId = new Map<number, DownloadRecord>();
        for (const part of chunks([...createdIds, ...batch.replaces.map((r) => r.id), ...deprecatedIds])) {
          for (const d of await repo.findManyByIds(part, tx)) byId.set(d.id, d);
        }
        const written: ImportResult = {
          created: createdIds.map((id) => byId.get(id)!),
          replaced: batch.replaces.map((r) => byId.get(r.id)!),
          deprecated: deprecatedIds.map((id) => byId.get(id)!),
        };
        await enqueueWebhooks(tx, [...importEvents(written), ['archive.imported', batch.describe(written)]], clock.now());
        return written;
      });
      for (const [type, data] of importEvents(result)) bus.emit(type as 'download.created', data as DownloadJson);
      bus.emit('archive.imported', batch.describe(result));
      return result;
    },

    /** Downloads serving a file under one of these names, for matching manifest entries. */
    async findByFileNames(names: string[]): Promise<NamedDownload[]> {
      const found: NamedDownload[] = [];
      for (const part of chunks([...new Set(names)])) {
        found.push(
          ...(await db.download.findMany({
            where: { fileName: { in: part } },
            select: { id: true, slug: true, fileName: true, kind: true, deprecated: true },
          })),
        );
      }
      return found.sort((a, b) => a.id - b.id);
    },

    /** Free slugs for new downloads with these titles, distinct from each other and from the database. */
    async freeSlugsFor(titles: string[]): Promise<string[]> {
      const bases = titles.map((title) => slugBase(title));
      // Most bases are free: one query per chunk finds the few that are not, and only those
      // need the list of their numbered siblings.
      const taken = new Set<string>();
      for (const part of chunks([...new Set(bases)])) {
        for (const row of await db.download.findMany({ where: { slug: { in: part } }, select: { slug: true } })) taken.add(row.slug);
      }
      // A base that is taken (stored, or by an earlier title of this batch) needs its stored
      // numbered siblings too: `base-2` may exist even when `base` was free.
      const siblings = new Map<string, string[]>();
      const allocated = new Set<string>();
      for (const base of bases) {
        if ((taken.has(base) || allocated.has(base)) && !siblings.has(base)) siblings.set(base, await repo.slugsStartingWith(base));
        const used = [...(siblings.get(base) ?? []), ...[...allocated].filter((slug) => slug.startsWith(base))];
        allocated.add(firstFreeSlug(base, used));
      }
      return [...allocated];
    },

    async setState(ids: number[], state: 'published' | 'unpublished'): Promise<number> {
      const { count } = await db.download.updateMany({ where: { id: { in: ids } }, data: { state } });
      return count;
    },

    /** Deletes downloads, their rows (cascade) and every file they own, current and past. */
    async remove(ids: number[]): Promise<number> {
      const doomed = await db.download.findMany({ where: { id: { in: ids } }, select: { id: true, slug: true, title: true } });
      if (!doomed.length) return 0;
      const keys = await repo.fileKeysOf(db, doomed.map((d) => d.id));
      await db.$transaction(async (tx) => {
        await tx.download.deleteMany({ where: { id: { in: doomed.map((d) => d.id) } } });
        await emitAll(tx, doomed.map((d) => ['download.deleted', d] as [WebhookEventType, unknown]));
      });
      await Promise.all(keys.map((key) => files.remove(key)));
      for (const d of doomed) bus.emit('download.deleted', d);
      return doomed.length;
    },

    findById: (id: number) => repo.findById(id),
    findServable: (slug: string) => repo.findServableBySlug(slug),
    slugOfId: (id: number) => repo.slugOfId(id),
    findBySlug: (slug: string) => repo.findBySlug(slug),

    async requireBySlug(slug: string): Promise<DownloadRecord> {
      const found = await repo.findBySlug(slug);
      if (!found) throw notFound('There is no download at this address.');
      return found;
    },

    listForAdmin: (filters: AdminFilters) => repo.listForAdmin(filters, clock.now()),
    labelsInUse: () => repo.labelsInUse(),
    versionsOf: (id: number) => repo.versionsOf(id),
    toJson: json,
  };
}

/**
 * A download serves one source: an uploaded file, a remote URL, or a generator. A new file turns a
 * remote download into a file download; a remote URL cannot silently replace an uploaded file.
 */
function sourcePatch(current: DownloadRecord, file: IncomingFile | undefined, remoteUrl: string | null | undefined) {
  if (file && remoteUrl) throw unprocessable(messages.oneSource, { code: 'SOURCE_CONFLICT' });
  if (file) return { kind: current.generator ? current.kind : 'file', remoteUrl: null };
  if (remoteUrl) {
    if (current.kind !== 'remote') {
      throw unprocessable('This download serves an uploaded or generated file; upload a new file to replace it.', { code: 'SOURCE_CONFLICT' });
    }
    return { remoteUrl };
  }
  if (remoteUrl === null && current.kind === 'remote') throw unprocessable(messages.noSource, { code: 'SOURCE_MISSING' });
  return {};
}

/** Keeps the replaced file, with the count it earned, in the download's history. */
async function recordVersion(tx: Tx, current: DownloadRecord) {
  if (!current.fileKey) return;
  await tx.fileVersion.create({
    data: {
      downloadId: current.id,
      fileKey: current.fileKey,
      fileName: current.fileName,
      size: current.size,
      sha256: current.sha256,
      mimeType: current.mimeType,
      downloadCount: current.fileDownloadCount,
      createdAt: current.fileUpdatedAt ?? current.createdAt,
    },
  });
}

function dedupe(labels: LabelParts[]): LabelParts[] {
  const seen = new Map(labels.map((l) => [formatLabel(l), l]));
  return [...seen.values()];
}

export type DownloadService = ReturnType<typeof createDownloadService>;
