/**
 * CSV (RFC 4180): fields with a comma, quote or line break are quoted, quotes doubled, lines end
 * with CRLF. Text cells that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) get
 * a leading apostrophe (OWASP "CSV injection"); numbers are written as they are.
 */
export type CsvCell = string | number | null | undefined;

function field(value: CsvCell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(rows: CsvCell[][]): string {
  return rows.map((row) => row.map(field).join(',')).join('\r\n') + '\r\n';
}
