import type { JobName } from './names.js';
import type { JobData } from './schemas.js';

/**
 * The idempotency key, used as the BullMQ job id. BullMQ refuses ':' in custom ids, so the parts are
 * joined with dots, and every part is kept to characters that cannot be mistaken for a separator:
 * account, tid, out_sid and waybill_no already match [A-Za-z0-9_-] patterns (sub_tid adds commas),
 * and order_no, which is free text, is escaped by `escapeKeyPart`.
 *
 * - vvtool.send:       vvtool.{account}.{tid}.{sub_tid ids in numeric order, or "all"}.{out_sid}
 * - damaijia.delivery: damaijia.{account}.{escaped order_no}.{waybill_no}
 * - damaijia.sync:     null (a sync may be repeated on purpose)
 *
 * `data` must be validated (see validateJob): the key trusts its shapes.
 */
export function idempotencyKey<N extends JobName>(name: N, data: JobData<N>): string | null {
  switch (name) {
    case 'vvtool.send': {
      const d = data as JobData<'vvtool.send'>;
      // Own property only: an absent sub_tid must not be read from a polluted Object.prototype.
      const sub = Object.hasOwn(d, 'sub_tid') ? d.sub_tid : undefined;
      const part = typeof sub === 'string' ? sortIds(sub) : 'all';
      return `vvtool.${d.account}.${d.tid}.${part}.${d.out_sid}`;
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
 * Comma-separated digit ids in numeric order. Ids have up to 20 digits, past what a JS number holds
 * exactly, so they compare as BigInt; equal values ("7", "007") fall back to text order so the result
 * does not depend on the order they were sent in.
 */
export function sortIds(ids: string): string {
  return ids
    .split(',')
    .sort((a, b) => {
      const x = BigInt(a);
      const y = BigInt(b);
      if (x !== y) return x < y ? -1 : 1;
      return a < b ? -1 : a > b ? 1 : 0;
    })
    .join(',');
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
