import type { LedgerEntry } from './types.js';

/** Column order of the export; the header line is these names. */
export const CSV_COLUMNS = [
  'id',
  'at',
  'account',
  'provider',
  'operation',
  'shop',
  'order',
  'jobId',
  'attempt',
  'amount',
  'status',
] as const satisfies readonly (keyof LedgerEntry)[];

/**
 * A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV Injection"):
 * = + - @, and tab and carriage return, which some programs strip before looking.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/** One cell: formula starts defused with a leading `'`, then RFC 4180 quoting when needed. */
export function csvCell(value: string | number | null): string {
  let text = value === null ? '' : String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record, ending in CRLF as RFC 4180 has it. */
export function csvLine(cells: readonly (string | number | null)[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

export function csvHeader(): string {
  return csvLine(CSV_COLUMNS);
}

export function csvRow(entry: LedgerEntry): string {
  return csvLine(CSV_COLUMNS.map((column) => entry[column]));
}
