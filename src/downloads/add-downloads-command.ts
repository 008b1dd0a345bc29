/**
 * `adddownloads <folder> [--category NAME] [-r] [--publish]`: every regular file in the folder
 * becomes a download titled with its file name (jmbo-downloads' command, without its crash when
 * --publish is left out). Symbolic links are skipped, so the command never leaves the folder.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AppError } from '../errors.ts';
import type { FileStore } from '../storage/file-store.ts';
import { stageCopy } from '../storage/stage-copy.ts';
import type { CategoryService } from './category-service.ts';
import type { DownloadService } from './download-service.ts';

export interface AddDownloadsIo {
  out(line: string): void;
  err(line: string): void;
}

async function* regularFiles(folder: string, recursive: boolean, io: AddDownloadsIo): AsyncGenerator<string> {
  const entries = (await fsp.readdir(folder, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const full = path.join(folder, entry.name);
    if (entry.isSymbolicLink()) io.err(`Skipping ${full}: symbolic link`);
    else if (entry.isFile()) yield full;
    else if (entry.isDirectory() && recursive) yield* regularFiles(full, recursive, io);
  }
}

export async function addDownloads(
  args: string[],
  deps: { downloads: DownloadService; categories: CategoryService; files: FileStore },
  io: AddDownloadsIo,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { category: { type: 'string' }, recursive: { type: 'boolean', short: 'r' }, publish: { type: 'boolean' } },
  });
  const [folderArg] = positionals;
  if (!folderArg) throw new AppError(400, 'No folder path was specified.', { code: 'USAGE' });
  const folder = path.resolve(folderArg);
  const stat = await fsp.stat(folder).catch(() => undefined);
  if (!stat?.isDirectory()) throw new AppError(400, `No such folder: ${folder}`, { code: 'NO_FOLDER' });

  const category = values.category ? await deps.categories.findOrCreate(values.category) : null;
  let added = 0;
  let failed = 0;
  for await (const file of regularFiles(folder, values.recursive ?? false, io)) {
    io.out(`Adding ${file}`);
    const staging = await deps.files.createStaging();
    try {
      const staged = await stageCopy(deps.files, staging, file);
      const name = path.basename(file);
      await deps.downloads.create(
        { title: name.slice(0, 200), state: values.publish ? 'published' : 'unpublished', primaryCategoryId: category?.id ?? null },
        { ...staged, originalName: name },
      );
      added++;
    } catch (error) {
      failed++;
      io.err(`Skipping ${file}: ${error instanceof AppError ? error.message : (error as Error).message}`);
    } finally {
      await deps.files.discardStaging(staging);
    }
  }
  io.out(`Added ${added} ${added === 1 ? 'file' : 'files'}${failed ? `, ${failed} failed` : ''}`);
  return failed ? 1 : 0;
}
