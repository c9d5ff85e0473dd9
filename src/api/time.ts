import { readTime, TIME_HINT } from '../ledger/time.js';
import { HttpError } from './errors.js';

/**
 * `from` / `to` of a query: epoch milliseconds, or an ISO 8601 date or date-time (read as UTC without
 * an offset: see readTime). Returns epoch ms; a 400 naming the field otherwise.
 */
export function parseTime(field: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = readTime(value);
  if (ms !== null) return ms;
  throw new HttpError(400, 'invalid request', [{ path: field, message: `must be ${TIME_HINT}` }]);
}

/** Both bounds, checked against each other: `from` after `to` is a mistake, not an empty answer. */
export function parseRange(query: { from?: string; to?: string }): { from?: number; to?: number } {
  const from = parseTime('from', query.from);
  const to = parseTime('to', query.to);
  if (from !== undefined && to !== undefined && from > to) {
    throw new HttpError(400, 'invalid request', [{ path: 'from', message: 'must not be after to' }]);
  }
  return { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
}
