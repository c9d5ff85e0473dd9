import { HttpError } from './errors.js';

const EPOCH_MS = /^[0-9]{1,15}$/;
const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * `from` / `to` of a query: epoch milliseconds, or an ISO 8601 date or date-time. A date-time without
 * an offset is read as UTC, not as the server's local time, so an answer does not depend on where the
 * service runs. Returns epoch ms; a 400 naming the field otherwise.
 */
export function parseTime(field: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (EPOCH_MS.test(text)) return Number(text);
  const match = ISO_8601.exec(text);
  if (match) {
    const [, year, month, day, hour, minute, second, fraction, offset] = match;
    const iso =
      `${year}-${month}-${day}T${hour ?? '00'}:${minute ?? '00'}:${second ?? '00'}` +
      `.${(fraction ?? '0').padEnd(3, '0').slice(0, 3)}${normaliseOffset(offset)}`;
    const ms = Date.parse(iso);
    // Date.parse accepts 2024-02-30 (rolls over); a round trip of the date part catches it.
    if (Number.isFinite(ms) && ms >= 0 && sameDate(ms, iso, `${year}-${month}-${day}`)) return ms;
  }
  throw new HttpError(400, 'invalid request', [
    { path: field, message: 'must be an ISO 8601 time (e.g. 2024-05-01T08:00:00Z) or epoch milliseconds' },
  ]);
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

function normaliseOffset(offset: string | undefined): string {
  if (offset === undefined || offset.toUpperCase() === 'Z') return 'Z';
  return offset.includes(':') ? offset : `${offset.slice(0, 3)}:${offset.slice(3)}`;
}

function sameDate(ms: number, iso: string, date: string): boolean {
  // The calendar date as the client wrote it, in the offset they wrote.
  const offset = iso.slice(23);
  const sign = offset.startsWith('-') ? -1 : 1;
  const minutes = offset === 'Z' ? 0 : sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
  return new Date(ms + minutes * 60_000).toISOString().slice(0, 10) === date;
}
