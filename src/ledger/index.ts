export { CSV_COLUMNS } from './csv.js';
export { LedgerError, type LedgerErrorKind } from './errors.js';
export { Ledger } from './ledger.js';
export { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from './members.js';
export type {
  AlsoSet,
  CallContext,
  EntriesPage,
  EntriesQuery,
  EntryStatus,
  GroupBy,
  LedgerEntry,
  Settlement,
  SettleOptions,
  Summary,
  SummaryQuery,
  TimeRange,
  Totals,
} from './types.js';
