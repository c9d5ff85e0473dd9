import { stringify } from 'csv-stringify/sync';
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

/** Defuses a formula start with a leading `'`; csv-stringify then quotes as RFC 4180 needs. */
export function csvCell(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/**
 * One record, ending in CRLF as RFC 4180 has it. csv-stringify quotes a line break only when it is the
 * record delimiter: any CR or LF in a cell is quoted here, as a spreadsheet needs.
 */
export function csvLine(cells: readonly (string | number | null)[]): string {
  return stringify([cells.map(csvCell)], { record_delimiter: '\r\n', quoted_match: /[\r\n]/ });
}

export function csvHeader(): string {
  return csvLine(CSV_COLUMNS);
}

export function csvRow(entry: LedgerEntry): string {
  return csvLine(CSV_COLUMNS.map((column) => entry[column]));
}
