/**
 * Cleaning text that people type before it is stored. Everything stays text (shown escaped);
 * only what no text field should hold goes: NUL (PostgreSQL cannot store it) and other control
 * characters, which make logs, headers and terminals lie.
 */

// C0 and C1 controls, DEL.
const CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;
// Bidirectional overrides and isolates: they make `txt.exe` look like `exe.txt`.
export const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;

/** One line (titles, names): controls removed, line breaks and tabs become spaces, trimmed. */
export function cleanLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ').replace(CONTROLS, '').trim();
}

/** Multi-line text (descriptions): controls removed except newline and tab, CRLF → LF. */
export function cleanText(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(CONTROLS, '').trim();
}

export function humanSize(bytes: number | bigint | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  const n = Number(bytes);
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}
