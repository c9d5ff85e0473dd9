import {
  MAX_ACCOUNT_ID_LENGTH,
  MAX_ID_DIGITS,
  MAX_SUB_TIDS,
  MAX_TEXT_LENGTH,
  MAX_WAYBILL_LENGTH,
} from './fields.js';
import type { JobName } from './names.js';
import type { JobData } from './schemas.js';

/**
 * The idempotency key, used as the BullMQ job id: one shipment, one key, however its fields were
 * written. BullMQ refuses ':' in custom ids, so the parts are joined with dots, and every part is kept
 * to characters that cannot be mistaken for a separator: account, tid, out_sid and waybill_no already
 * match [A-Za-z0-9_-] patterns (sub_tid adds commas), and order_no, which is free text, is escaped by
 * `escapeKeyPart`. Numeric ids are normalised: "0123" and "123" are one trade, and a sub-order listed
 * twice is shipped once.
 *
 * - vvtool.send:       vvtool.{account}.{tid}.{sub_tid ids, deduplicated, in numeric order, or "all"}.{out_sid}
 * - damaijia.delivery: damaijia.{account}.{escaped order_no}.{waybill_no}
 * - damaijia.sync:     null (a sync may be repeated on purpose)
 *
 * `data` must be validated (see validateJob): the key trusts its shapes. The worker derives the key
 * from a job's data with this same function, to tell a job whose id is not its shipment's key.
 */
export function idempotencyKey<N extends JobName>(name: N, data: JobData<N>): string | null {
  switch (name) {
    case 'vvtool.send': {
      const d = data as JobData<'vvtool.send'>;
      // Own property only: an absent sub_tid must not be read from a polluted Object.prototype.
      const sub = Object.hasOwn(d, 'sub_tid') ? d.sub_tid : undefined;
      const part = typeof sub === 'string' ? sortIds(sub) : 'all';
      return `vvtool.${d.account}.${normaliseId(d.tid)}.${part}.${d.out_sid}`;
    }
    case 'damaijia.delivery': {
      const d = data as JobData<'damaijia.delivery'>;
      return `damaijia.${d.account}.${escapeKeyPart(d.order_no)}.${d.waybill_no}`;
    }
    default:
      return null;
  }
}

/**
 * The longest key the field rules allow, in characters (all ASCII). A damaijia key is the longer: its
 * order_no of 256 code points escapes to at most 12 characters each (4 UTF-8 bytes, "%XX" per byte).
 * The longest vv-tool key is a split shipment of MAX_SUB_TIDS distinct 20-digit ids.
 */
export const MAX_KEY_LENGTH = Math.max(
  'vvtool....'.length +
    MAX_ACCOUNT_ID_LENGTH +
    MAX_ID_DIGITS +
    (MAX_SUB_TIDS * (MAX_ID_DIGITS + 1) - 1) +
    MAX_WAYBILL_LENGTH,
  'damaijia...'.length + MAX_ACCOUNT_ID_LENGTH + MAX_TEXT_LENGTH * 12 + MAX_WAYBILL_LENGTH,
);

/** A digit string without leading zeros ("0" stays "0"): the number it names, written one way. */
export function normaliseId(id: string): string {
  const trimmed = id.replace(/^0+/, '');
  return trimmed === '' ? '0' : trimmed;
}

/**
 * Comma-separated digit ids, each without leading zeros, each once, in numeric order. Ids have up to
 * 20 digits, past what a JS number holds exactly; without leading zeros, the shorter is the smaller,
 * and equal lengths compare as text.
 */
export function sortIds(ids: string): string {
  const unique = [...new Set(ids.split(',').map(normaliseId))];
  return unique.sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)).join(',');
}

const KEY_SAFE = /^[A-Za-z0-9_-]$/;
const encoder = new TextEncoder();

/**
 * Percent-encodes (%XX, upper-case hex, of the UTF-8 bytes) every character outside [A-Za-z0-9_-],
 * so a free-text part can hold neither the '.' separator nor the ':' BullMQ refuses. Reversible:
 * `decodeURIComponent` (or `unescapeKeyPart`) gives the text back.
 */
export function escapeKeyPart(value: string): string {
  let out = '';
  for (const char of value) {
    if (KEY_SAFE.test(char)) {
      out += char;
      continue;
    }
    for (const byte of encoder.encode(char)) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function unescapeKeyPart(value: string): string {
  return decodeURIComponent(value);
}
