import Type from 'typebox';
import { ACCOUNT_ID_PATTERN } from '../config/accounts.js';

/**
 * The field shapes, each written once. A field's `description` is phrased so that
 * "must be <description>" is the message a person reads when the value does not fit:
 * the same words document the JSON Schema files and the OpenAPI page.
 */

/** 2^53 - 1: above it a JSON number has already lost digits in JS (Taobao trade ids pass 2^53). */
export const MAX_SAFE_ID = Number.MAX_SAFE_INTEGER;

/** Digits of a numeric id (Taobao ids pass 2^53, and stay below 20 digits). */
export const MAX_ID_DIGITS = 20;
const DIGITS = `^[0-9]{1,${MAX_ID_DIGITS}}$`;
/** 1 to 100 ids: bounds the idempotency key (the job id) a sub_tid ends up in. */
export const MAX_SUB_TIDS = 100;
const SUB_TIDS = `^[0-9]{1,${MAX_ID_DIGITS}}(,[0-9]{1,${MAX_ID_DIGITS}}){0,${MAX_SUB_TIDS - 1}}$`;
const CARRIER_CODE = '^[A-Za-z0-9_]{2,32}$';
export const MAX_WAYBILL_LENGTH = 40;
const WAYBILL_NO = `^[A-Za-z0-9-]{6,${MAX_WAYBILL_LENGTH}}$`;
/** The longest account id ACCOUNT_ID_PATTERN accepts (a test holds the two together). */
export const MAX_ACCOUNT_ID_LENGTH = 64;
/**
 * No C0/C1 control characters or DEL, and no unpaired surrogate (it cannot be sent as UTF-8).
 * Written to mean the same with and without the regex `u` flag (Ajv and TypeBox use it,
 * other languages' validators may not), so the JSON Schema files hold in any language.
 */
const TEXT = '^(?:[^\\u0000-\\u001F\\u007F-\\u009F\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])*$';
export const MAX_TEXT_LENGTH = 256;

/**
 * A numeric id as a digit string. A JSON number is accepted only while it is exact (a safe integer),
 * and decodes to its digit string, so the validated payload always holds strings.
 */
export function digitId(title: string) {
  return Type.Codec(
    Type.Union([Type.String({ pattern: DIGITS }), Type.Integer({ minimum: 0, maximum: MAX_SAFE_ID })], {
      title,
      description: `a string of 1-20 digits (a JSON number only up to ${MAX_SAFE_ID}; send larger ids as strings)`,
    }),
  )
    .Decode((value) => String(value))
    .Encode((value) => value);
}

/** vv-tool sub-order ids. A string only (not an array): it is kept and sent upstream as given. */
export function subTids(title: string) {
  return Type.String({
    pattern: SUB_TIDS,
    title,
    description: `a string of comma-separated ids of 1-20 digits each, without spaces, e.g. "1,2,3" (at most ${MAX_SUB_TIDS} ids)`,
  });
}

export function carrierCode(title: string) {
  return Type.String({
    pattern: CARRIER_CODE,
    title,
    description: 'a carrier code of 2-32 letters, digits or underscores, e.g. "POST" or "ZJS"',
  });
}

export function waybillNo(title: string) {
  return Type.String({
    pattern: WAYBILL_NO,
    title,
    description: 'a waybill number of 6-40 letters, digits or hyphens',
  });
}

/** Free text. Lengths count Unicode characters (code points), as JSON Schema does. */
export function text(title: string) {
  return Type.String({
    minLength: 1,
    maxLength: MAX_TEXT_LENGTH,
    pattern: TEXT,
    title,
    description: `a string of 1-${MAX_TEXT_LENGTH} characters without control characters`,
  });
}

export function isSplit() {
  return Type.Enum([0, 1], {
    title: 'Split shipment flag (1: ship only the sub-orders in sub_tid)',
    description: 'the number 0 or 1, given together with sub_tid',
  });
}

export function vvtype() {
  return Type.Enum([1, 2], {
    title: 'vv-tool service version (1 normal, 2 enhanced)',
    description: 'the number 1 (normal) or 2 (enhanced)',
  });
}

export function accountId() {
  return Type.String({
    pattern: ACCOUNT_ID_PATTERN.source,
    title: 'Account id (one configured upstream credential; its provider decides the job)',
    description: 'an account id of 1-64 letters, digits, "_" or "-"',
  });
}
