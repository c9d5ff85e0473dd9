const EPOCH_MS = /^[0-9]{1,15}$/;
const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** How to write a time wherever one is asked for (HTTP `from`/`to`, the CLI's `--from`/`--to`). */
export const TIME_HINT = 'an ISO 8601 time (e.g. 2024-05-01T08:00:00Z) or epoch milliseconds';

/**
 * A time as epoch milliseconds, from epoch ms digits or ISO 8601: a date (midnight UTC) or a date
 * and time, with an offset or without one. Without one it is read as UTC, never as this machine's
 * local time, so an answer does not depend on where the service or the operator runs. Null when the
 * text is not such a time, or names a day that does not exist (2024-02-30).
 */
export function readTime(text: string): number | null {
  const trimmed = text.trim();
  if (EPOCH_MS.test(trimmed)) return Number(trimmed);
  const match = ISO_8601.exec(trimmed);
  if (!match) return null;
  const [, year, month, day, hour, minute, second, fraction, offset] = match;
  const iso =
    `${year}-${month}-${day}T${hour ?? '00'}:${minute ?? '00'}:${second ?? '00'}` +
    `.${(fraction ?? '0').padEnd(3, '0').slice(0, 3)}${normaliseOffset(offset)}`;
  const ms = Date.parse(iso);
  // Date.parse accepts 2024-02-30 (rolls over); a round trip of the date part catches it.
  return Number.isFinite(ms) && ms >= 0 && sameDate(ms, iso, `${year}-${month}-${day}`) ? ms : null;
}

function normaliseOffset(offset: string | undefined): string {
  if (offset === undefined || offset.toUpperCase() === 'Z') return 'Z';
  return offset.includes(':') ? offset : `${offset.slice(0, 3)}:${offset.slice(3)}`;
}

function sameDate(ms: number, iso: string, date: string): boolean {
  // The calendar date as it was written, in the offset it was written with.
  const offset = iso.slice(23);
  const sign = offset.startsWith('-') ? -1 : 1;
  const minutes = offset === 'Z' ? 0 : sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
  return new Date(ms + minutes * 60_000).toISOString().slice(0, 10) === date;
}
