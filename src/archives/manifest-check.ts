/**
 * Per-entry rules of a manifest. The seed stopped at the first problem and called it "entry 0";
 * here every problem of every entry is returned at once, each naming its entry by number and
 * name, so one upload is enough to see everything that needs fixing.
 */
import { LabelError, formatLabel, oneMaxViolations, parseLabel, type LabelParts } from '../downloads/labels.ts';
import {
  MANIFEST_NAME,
  collisionKey,
  lastExtension,
  normalizeEntryName,
  normalizeExtensionList,
  printableName,
  unsafeNameReason,
} from './entry-names.ts';
import type { ManifestEntry, ManifestProblem, ManifestRules } from './manifest.ts';

export const MAX_SUMMARY_LENGTH = 200;
export const MAX_DESCRIPTION_LENGTH = 10_000;

export const DEFAULT_MANIFEST_RULES: Readonly<ManifestRules> = Object.freeze({
  maxLabels: 6,
  oneMaxClasses: ['Type'],
  allowedExtensions: null,
});

type Report = (code: string, message: string) => void;

/** Every per-entry problem, in manifest order; an empty list means the manifest can be imported. */
export function checkManifest(entries: ManifestEntry[], archiveNames: ReadonlySet<string>, rules: ManifestRules): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  const archive = new Map<string, string>();
  for (const name of archiveNames) archive.set(collisionKey(name), normalizeEntryName(name));
  const seen = new Map<string, number>();
  const allowed = rules.allowedExtensions?.length ? normalizeExtensionList(rules.allowedExtensions) : null;

  for (const entry of entries) {
    const label = entry.name ? `Entry ${entry.index} (${printableName(entry.name)})` : `Entry ${entry.index}`;
    const report: Report = (code, message) => {
      const problem: ManifestProblem = { entry: entry.index, code, message: `${label}: ${message}` };
      if (entry.name) problem.name = entry.name;
      problems.push(problem);
    };
    checkName(entry, archive, seen, report);
    if (allowed) checkExtension(entry.name, allowed, report);
    checkTexts(entry, report);
    checkLabels(entry.labels, rules, report);
  }
  return problems;
}

function checkName(entry: ManifestEntry, archive: Map<string, string>, seen: Map<string, number>, report: Report): void {
  if (!entry.name) return report('NAME_MISSING', 'the <name> of the file is missing or empty.');
  const unsafe = unsafeNameReason(entry.name);
  if (unsafe) return report('NAME_UNSAFE', `the name cannot be used as a path inside the archive: ${unsafe}.`);
  const name = normalizeEntryName(entry.name);
  const key = collisionKey(name);
  if (key === MANIFEST_NAME) return report('SELF_REFERENCE', `the manifest cannot list itself as a file to import.`);
  const earlier = seen.get(key);
  if (earlier !== undefined) return report('DUPLICATE_NAME', `this file is already listed as entry ${earlier}.`);
  seen.set(key, entry.index);
  const inArchive = archive.get(key);
  if (inArchive === name) return;
  const hint = inArchive === undefined ? '' : ` (it has "${printableName(inArchive)}": names are case-sensitive)`;
  report('NOT_IN_ARCHIVE', `the archive has no file with this name${hint}.`);
}

function checkExtension(name: string, allowed: ReadonlySet<string>, report: Report): void {
  if (!name || unsafeNameReason(name)) return;
  const extension = lastExtension(name);
  if (allowed.has(extension)) return;
  const what = extension ? `files with the extension .${extension} are` : 'files without an extension are';
  report('EXTENSION_NOT_ALLOWED', `${what} not allowed.`);
}

function checkTexts(entry: ManifestEntry, report: Report): void {
  const summaryLength = characters(entry.summary);
  // "0" is a real title: the seed's empty() check threw it away.
  if (summaryLength === 0) report('SUMMARY_MISSING', 'the <summary> (the title shown for the file) is missing or empty.');
  if (summaryLength > MAX_SUMMARY_LENGTH) {
    report('SUMMARY_TOO_LONG', `the summary has ${summaryLength} characters; at most ${MAX_SUMMARY_LENGTH} are allowed.`);
  }
  const descriptionLength = characters(entry.description);
  if (descriptionLength > MAX_DESCRIPTION_LENGTH) {
    report('DESCRIPTION_TOO_LONG', `the description has ${descriptionLength} characters; at most ${MAX_DESCRIPTION_LENGTH} are allowed.`);
  }
}

function checkLabels(texts: readonly string[], rules: ManifestRules, report: Report): void {
  const labels = new Map<string, LabelParts>();
  for (const text of texts) {
    try {
      const label = parseLabel(text);
      if (label) labels.set(formatLabel(label), label);
    } catch (error) {
      if (!(error instanceof LabelError)) throw error;
      report('LABEL_INVALID', printableName(error.message));
    }
  }
  if (labels.size > rules.maxLabels) {
    report('TOO_MANY_LABELS', `${labels.size} labels are given; at most ${rules.maxLabels} are allowed.`);
  }
  for (const cls of oneMaxViolations([...labels.values()], rules.oneMaxClasses)) {
    report('ONE_MAX_CLASS', `only one ${cls} label is allowed.`);
  }
}

/** Counted in code points, as people count characters, not UTF-16 units. */
function characters(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}
