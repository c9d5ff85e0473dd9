import { LedgerError, type LedgerErrorKind } from './errors.js';

/**
 * What the ledger's keys (src/keys.ts) hold and how queries walk them: entry ids, time-index members,
 * cursors over those members, and the checks on a query's range and page size.
 */

/** The entry id, and the in-flight field: one call of one job attempt. */
export function callId(jobId: string, attempt: number): string {
  return `${jobId}#${attempt}`;
}

/**
 * Epoch ms as 15 fixed digits (good until the year 33658), so that lexical order is time order.
 * Members with equal scores sort by bytes; a fixed-width time first, then the unique id, gives a
 * total order in which many entries of one millisecond still page exactly (the cursor is a member).
 */
const TIME_DIGITS = 15;
const MAX_TIME = 10 ** TIME_DIGITS - 1;

export function timeKey(ms: number): string {
  return String(ms).padStart(TIME_DIGITS, '0');
}

export function member(ms: number, id: string): string {
  return `${timeKey(ms)}|${id}`;
}

/** The entry id inside a member. */
export function memberId(m: string): string {
  return m.slice(TIME_DIGITS + 1);
}

export function checkTime(ms: number, what: string, kind: LedgerErrorKind = 'bad_query'): number {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_TIME) {
    throw new LedgerError(kind, `${what} must be epoch milliseconds (an integer >= 0), got ${ms}`);
  }
  return ms;
}

const MEMBER_SHAPE = new RegExp(`^\\d{${TIME_DIGITS}}\\|.+$`, 's');

/** The cursor is the last member a page returned, base64url: opaque to callers, exact for us. */
export function encodeCursor(lastMember: string): string {
  return Buffer.from(lastMember, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!MEMBER_SHAPE.test(decoded) || encodeCursor(decoded) !== cursor) {
    throw new LedgerError('bad_cursor', 'cursor is not one this ledger handed out');
  }
  return decoded;
}

/**
 * ZRANGEBYLEX bounds for [from, to) after an optional cursor. `(${timeKey(to)}` excludes every
 * member of millisecond `to` (they sort after the bare time key); `[${timeKey(from)}` includes
 * every member of millisecond `from`.
 */
export function lexBounds(range: { from?: number; to?: number }, after?: string): [string, string] {
  let min = range.from === undefined ? '-' : `[${timeKey(range.from)}`;
  if (after !== undefined && (range.from === undefined || after >= timeKey(range.from))) min = `(${after}`;
  const max = range.to === undefined ? '+' : `(${timeKey(range.to)}`;
  return [min, max];
}

/** A query's time range, each bound checked as epoch milliseconds. */
export function checkRange(q: { readonly from?: number; readonly to?: number }): {
  from?: number;
  to?: number;
} {
  return {
    ...(q.from === undefined ? {} : { from: checkTime(q.from, 'from') }),
    ...(q.to === undefined ? {} : { to: checkTime(q.to, 'to') }),
  };
}

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1_000;

/** A page's size: the default when absent, else an integer from 1 to MAX_PAGE_LIMIT. */
export function checkPageLimit(limit: number | undefined): number {
  const value = limit ?? DEFAULT_PAGE_LIMIT;
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_PAGE_LIMIT) {
    throw new LedgerError('bad_query', `limit must be an integer from 1 to ${MAX_PAGE_LIMIT}`);
  }
  return value;
}
