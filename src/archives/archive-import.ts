/**
 * Archive import (InDefero's "Upload Archive", all or nothing): a ZIP with manifest.xml creates,
 * replaces and deprecates downloads. Everything is judged before anything is written — the
 * archive's structure, the manifest, and each entry against the downloads that exist — and every
 * problem is reported at once. Only then are the listed files streamed into staging and handed
 * to the download service, which renames them into the store and writes every row in one
 * transaction. A dry run stops after the plan.
 */
import type { Config } from '../config.ts';
import { unprocessable } from '../errors.ts';
import { safeFileName } from '../lib/file-names.ts';
import { cleanLine, cleanText } from '../lib/text.ts';
import type { CategoryService } from '../downloads/category-service.ts';
import type { Actor, DownloadService, ImportBatch, NamedDownload } from '../downloads/download-service.ts';
import { parseLabel, type LabelParts } from '../downloads/labels.ts';
import type { FileStore } from '../storage/file-store.ts';
import { MANIFEST_NAME, printableName } from './entry-names.ts';
import { checkManifest, parseManifest, type ManifestEntry, type ManifestProblem, type ManifestRules } from './manifest.ts';
import { extractEntries, inspectArchive } from './zip-reader.ts';

export interface ImportOptions {
  dryRun?: boolean;
  /** State of the downloads an import creates; default published (InDefero's files were live at once). */
  state?: 'published' | 'unpublished';
  /** Name or slug of an existing category for the downloads an import creates. */
  category?: string;
  actor?: Actor;
}

export type PlannedAction =
  | { entry: number; name: string; action: 'create'; slug: string; deprecates?: string }
  | { entry: number; name: string; action: 'replace'; slug: string };

export interface ImportReport {
  dryRun: boolean;
  /** Slugs of the downloads created, replaced (same download, new file) and deprecated. */
  created: string[];
  replaced: string[];
  deprecated: string[];
  /** Archive files the manifest does not list, then `<replaces>` names that match no download. */
  ignored: string[];
  unlisted: string[];
  unmatchedReplaces: { entry: number; name: string; replaces: string }[];
  entries: PlannedAction[];
}

interface PlannedEntry {
  entry: ManifestEntry;
  servedName: string;
  labels: LabelParts[];
  replaceId?: number;
  deprecate?: NamedDownload;
  slug: string;
}

interface Deps {
  downloads: DownloadService;
  categories: CategoryService;
  files: FileStore;
  config: Pick<Config, 'archives' | 'labels'>;
}

export function createArchiveImporter(deps: Deps) {
  const { downloads, categories, files, config } = deps;
  const limits = config.archives.limits;
  const rules: ManifestRules = {
    maxLabels: config.labels.maxPerDownload,
    oneMaxClasses: config.labels.oneMaxClasses,
    allowedExtensions: config.archives.allowedExtensions,
  };

  async function categoryId(wanted: string | undefined): Promise<number | undefined> {
    if (!wanted?.trim()) return undefined;
    const name = wanted.trim();
    const found = (await categories.all()).find((c) => c.slug === name || c.title === name);
    if (!found) throw unprocessable(`There is no category "${printableName(name)}".`, { code: 'CATEGORY_UNKNOWN' });
    return found.id;
  }

  return {
    async importArchive(zipPath: string, options: ImportOptions = {}): Promise<ImportReport> {
      const primaryCategoryId = await categoryId(options.category);
      const inspection = await inspectArchive(zipPath, limits);
      const entries = parseManifest(inspection.manifestXml).map(cleanEntry);
      const archiveNames = new Set(inspection.entries.map((e) => e.name));
      const problems = checkManifest(entries, archiveNames, rules);
      const planned = await plan(entries, problems, downloads);
      if (problems.length > 0) throw invalidManifest(problems);

      const listed = new Set(entries.map((e) => e.name));
      const unlisted = inspection.entries.map((e) => e.name).filter((name) => name !== MANIFEST_NAME && !listed.has(name));
      const unmatchedReplaces = planned
        .filter((p) => p.entry.replaces && p.replaceId === undefined && !p.deprecate)
        .map((p) => ({ entry: p.entry.index, name: p.entry.name, replaces: p.entry.replaces! }));
      const report = (dryRun: boolean): ImportReport => ({
        dryRun,
        created: planned.filter((p) => p.replaceId === undefined).map((p) => p.slug),
        replaced: planned.filter((p) => p.replaceId !== undefined).map((p) => p.slug),
        deprecated: planned.flatMap((p) => (p.deprecate ? [p.deprecate.slug] : [])),
        ignored: [...unlisted, ...unmatchedReplaces.map((u) => u.replaces)],
        unlisted,
        unmatchedReplaces,
        entries: planned.map(toAction),
      });
      if (options.dryRun) return report(true);

      const staging = await files.createStaging();
      try {
        const extracted = await extractEntries(zipPath, [...listed], staging, limits);
        const imported = (p: PlannedEntry) => {
          const file = extracted.get(p.entry.name)!;
          return {
            file: { ...file, originalName: p.servedName },
            title: p.entry.summary,
            description: p.entry.description,
            fileName: p.servedName,
            labels: p.labels,
          };
        };
        const batch: ImportBatch = {
          creates: planned.filter((p) => p.replaceId === undefined).map((p) => ({ ...imported(p), slug: p.slug, deprecates: p.deprecate?.id })),
          replaces: planned.filter((p) => p.replaceId !== undefined).map((p) => ({ ...imported(p), id: p.replaceId! })),
          state: options.state ?? 'published',
          primaryCategoryId,
          describe: () => report(false),
        };
        await downloads.importBatch(batch, options.actor);
      } finally {
        await files.discardStaging(staging);
      }
      return report(false);
    },
  };
}

export type ArchiveImporter = ReturnType<typeof createArchiveImporter>;

/** Titles and descriptions are stored as the form would store them (controls removed). */
function cleanEntry(entry: ManifestEntry): ManifestEntry {
  return { ...entry, summary: cleanLine(entry.summary), description: cleanText(entry.description) };
}

/**
 * Matches each entry against existing downloads by served file name and decides what it does.
 * Entries with problems of their own are left out; new problems are added to `problems`.
 */
async function plan(entries: ManifestEntry[], problems: ManifestProblem[], downloads: DownloadService): Promise<PlannedEntry[]> {
  const broken = new Set(problems.map((p) => p.entry));
  const sound = entries.filter((e) => !broken.has(e.index));
  const served = (name: string) => safeFileName(name);
  const existing = groupByName(await downloads.findByFileNames(sound.flatMap((e) => [served(e.name), ...(e.replaces ? [served(e.replaces)] : [])])));
  const report = (entry: ManifestEntry, code: string, message: string) =>
    problems.push({ entry: entry.index, name: entry.name, code, message: `Entry ${entry.index} (${printableName(entry.name)}): ${message}` });
  const single = (entry: ManifestEntry, name: string): NamedDownload | undefined | null => {
    const found = existing.get(name) ?? [];
    if (found.length <= 1) return found[0];
    report(entry, 'NAME_AMBIGUOUS', `${found.length} downloads are served as "${printableName(name)}" (${found.map((d) => d.slug).join(', ')}); rename all but one first.`);
    return null;
  };

  const servedBy = new Map<string, number>();
  const targetedBy = new Map<number, number>();
  const result: PlannedEntry[] = [];
  for (const entry of sound) {
    const servedName = served(entry.name);
    const earlier = servedBy.get(servedName);
    if (earlier !== undefined) {
      report(entry, 'DUPLICATE_FILE_NAME', `entry ${earlier} is already served as "${printableName(servedName)}" (only the last part of a path is the file name).`);
      continue;
    }
    servedBy.set(servedName, entry.index);
    const own = single(entry, servedName);
    if (own === null) continue;
    const replacesSelf = entry.replaces !== undefined && served(entry.replaces) === servedName;
    let replaceId: number | undefined;
    let deprecate: NamedDownload | undefined;
    if (own && !replacesSelf) {
      report(entry, 'NAME_EXISTS', `a download named "${printableName(servedName)}" already exists (${own.slug}); add <replaces>${printableName(entry.name)}</replaces> to give it this file.`);
      continue;
    }
    if (own) {
      // A generated download's kind is its generator's name (text-overlay, …): neither file nor remote.
      if (own.kind !== 'file' && own.kind !== 'remote') {
        report(entry, 'NOT_REPLACEABLE', `"${own.slug}" is a generated download; its file cannot be replaced from an archive.`);
        continue;
      }
      replaceId = own.id;
    } else if (entry.replaces && !replacesSelf) {
      const target = single(entry, served(entry.replaces));
      if (target === null) continue;
      deprecate = target;
    }
    const targetId = replaceId ?? deprecate?.id;
    if (targetId !== undefined) {
      const other = targetedBy.get(targetId);
      if (other !== undefined) {
        report(entry, 'REPLACED_TWICE', `entry ${other} already replaces the same download; a download can be replaced only once per archive.`);
        continue;
      }
      targetedBy.set(targetId, entry.index);
    }
    result.push({ entry, servedName, labels: entry.labels.flatMap((l) => parseLabel(l) ?? []), replaceId, deprecate, slug: own?.slug ?? '' });
  }
  if (problems.length === 0) {
    const creates = result.filter((p) => p.replaceId === undefined);
    const slugs = await downloads.freeSlugsFor(creates.map((p) => p.entry.summary));
    creates.forEach((p, i) => (p.slug = slugs[i]!));
  }
  problems.sort((a, b) => a.entry - b.entry);
  return result;
}

function groupByName(found: NamedDownload[]): Map<string, NamedDownload[]> {
  const groups = new Map<string, NamedDownload[]>();
  for (const d of found) {
    if (!d.fileName) continue;
    groups.set(d.fileName, [...(groups.get(d.fileName) ?? []), d]);
  }
  return groups;
}

function toAction(p: PlannedEntry): PlannedAction {
  if (p.replaceId !== undefined) return { entry: p.entry.index, name: p.entry.name, action: 'replace', slug: p.slug };
  return { entry: p.entry.index, name: p.entry.name, action: 'create', slug: p.slug, ...(p.deprecate ? { deprecates: p.deprecate.slug } : {}) };
}

/** One 422 for the whole manifest: the first problem names the code and entry, `problems` lists all. */
function invalidManifest(problems: ManifestProblem[]) {
  const [first] = problems;
  const message =
    problems.length === 1 ? first!.message : `The manifest has ${problems.length} problems: ${problems.map((p) => p.message).join(' ')}`;
  return unprocessable(message, { code: first!.code, details: { entry: first!.entry, name: first!.name, problems } });
}
