/**
 * Labels are `Class:Name` (InDefero's tags): split at the first colon, both parts trimmed, the
 * class keeps its case; a label without a colon belongs to the class `Other`. Some classes allow
 * at most one label per download (setting LABEL_ONE_MAX_CLASSES, default `Type`).
 */
export interface LabelParts {
  class: string;
  name: string;
}

export const DEFAULT_LABEL_CLASS = 'Other';
export const MAX_LABEL_PART_LENGTH = 100;

// C0/C1 controls and bidi overrides never belong in a label: they reorder or hide what is shown.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** Parses one label; undefined for an empty one. Throws a message for a malformed one. */
export function parseLabel(text: string): LabelParts | undefined {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  if (FORBIDDEN.test(trimmed)) throw new LabelError(`The label "${printable(trimmed)}" contains control characters.`);
  const colon = trimmed.indexOf(':');
  const parts = colon < 0 ? { class: DEFAULT_LABEL_CLASS, name: trimmed } : { class: trimmed.slice(0, colon).trim(), name: trimmed.slice(colon + 1).trim() };
  if (!parts.class || !parts.name) throw new LabelError(`The label "${trimmed}" needs a class and a name, like Type:Installer.`);
  if (parts.class.length > MAX_LABEL_PART_LENGTH || parts.name.length > MAX_LABEL_PART_LENGTH) {
    throw new LabelError(`Label classes and names are at most ${MAX_LABEL_PART_LENGTH} characters.`);
  }
  return parts;
}

export function formatLabel(label: LabelParts): string {
  return `${label.class}:${label.name}`;
}

/** Parses a comma (or newline) separated list, dropping empties and exact duplicates. */
export function parseLabelList(text: string): LabelParts[] {
  const seen = new Set<string>();
  const result: LabelParts[] = [];
  for (const piece of text.split(/[,\n]/)) {
    const label = parseLabel(piece);
    if (label && !seen.has(formatLabel(label))) {
      seen.add(formatLabel(label));
      result.push(label);
    }
  }
  return result;
}

/** Classes (case-insensitive) that appear more than once among labels limited to one. */
export function oneMaxViolations(labels: LabelParts[], oneMaxClasses: readonly string[]): string[] {
  const limited = new Set(oneMaxClasses.map((c) => c.trim().toLowerCase()));
  const counts = new Map<string, number>();
  for (const label of labels) {
    const key = label.class.toLowerCase();
    if (limited.has(key)) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].filter(([, n]) => n > 1).map(([cls]) => labels.find((l) => l.class.toLowerCase() === cls)!.class);
}

export class LabelError extends Error {}

function printable(text: string): string {
  return text.replace(new RegExp(FORBIDDEN.source, 'g'), '?');
}
