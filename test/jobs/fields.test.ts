import { describe, expect, it } from 'vitest';
import { validateJob } from '../../src/jobs/index.js';
import { accounts, delivery, issuesOf, sync, vvtool } from './fixtures.js';

/** Each field rule, both ways: values it takes, values it refuses and the message a person reads. */

const DIGITS =
  'must be a string of 1-20 digits (a JSON number only up to 9007199254740991; send larger ids as strings)';
const BIG = /^is a JSON number above 9007199254740991, .*send it as a string/;
const SUB_TIDS = /^must be a string of comma-separated ids of 1-20 digits each/;
const CARRIER = /^must be a carrier code of 2-32 letters, digits or underscores/;
const WAYBILL = /^must be a waybill number of 6-40 letters, digits or hyphens/;
const TEXT = /^must be a string of 1-256 characters without control characters/;

const digitIdGood = ['0', '1', '007', '12345678901234567890', 0, 123, 9007199254740991];
const digitIdBad: [unknown, string | RegExp][] = [
  ['', `${DIGITS}; got an empty string`],
  ['123456789012345678901', DIGITS],
  ['12a', DIGITS],
  [' 12', DIGITS],
  ['-1', DIGITS],
  ['1.5', DIGITS],
  ['1e3', DIGITS],
  ['１２３', DIGITS], // full-width digits are not ASCII digits
  [-1, DIGITS],
  [1.5, DIGITS],
  [Number.NaN, DIGITS],
  [9007199254740992, BIG],
  [2 ** 64, BIG],
  [true, /got true$/],
  [null, /not null\)?$/],
  [[1], /got an array$/],
  [{ id: '1' }, /got an object$/],
];

const textGood = [
  'a',
  '日本語の店',
  'é and ü',
  'identCode=tid1:识别码 1,识别码 2|tid2:识别码 3;machineCode=tid3:3C',
  'x'.repeat(256),
  '😀'.repeat(256), // 256 characters, 512 UTF-16 code units
  'line\u2028separator', // not a control character (category Zl)
];
const textBad: [unknown, string | RegExp][] = [
  ['', /got an empty string$/],
  ['x'.repeat(257), /got 257 characters$/],
  ['😀'.repeat(257), /got 257 characters$/],
  ['a\u0000b', TEXT],
  ['tab\there', TEXT],
  ['new\nline', TEXT],
  ['del\u007f', TEXT],
  ['c1\u0085', TEXT],
  ['lone \ud800 surrogate', TEXT],
  ['\udc00 low first', TEXT],
  [123, TEXT],
  [null, TEXT],
];

const carrierGood = ['YT', 'POST', 'ZJS', 'yunda_express', 'A1', 'X'.repeat(32)];
const carrierBad: [unknown, string | RegExp][] = [
  ['Y', CARRIER],
  ['X'.repeat(33), CARRIER],
  ['YT-1', CARRIER],
  ['Y T', CARRIER],
  ['中通', CARRIER],
  ['', CARRIER],
  [12, CARRIER],
];

const waybillGood = ['123456', 'YT7512345678', 'SF-1234-5678', 'A'.repeat(40)];
const waybillBad: [unknown, string | RegExp][] = [
  ['12345', WAYBILL],
  ['A'.repeat(41), WAYBILL],
  ['YT_12345', WAYBILL],
  ['YT 12345', WAYBILL],
  ['YT.12345', WAYBILL],
  ['YT:12345', WAYBILL],
  [12345678, WAYBILL],
];

interface FieldCase {
  readonly field: string;
  readonly base: () => Record<string, unknown>;
  readonly type: 'ship' | 'sync';
  readonly good: readonly unknown[];
  readonly bad: readonly (readonly [unknown, string | RegExp])[];
  /** How an accepted value appears in the validated data. */
  readonly normalised?: (value: unknown) => unknown;
}

const asString = (value: unknown) => String(value);
const cases: FieldCase[] = [
  { field: 'tid', base: vvtool, type: 'ship', good: digitIdGood, bad: digitIdBad, normalised: asString },
  {
    field: 'sender_id',
    base: vvtool,
    type: 'ship',
    good: digitIdGood,
    bad: digitIdBad,
    normalised: asString,
  },
  {
    field: 'cancel_id',
    base: vvtool,
    type: 'ship',
    good: digitIdGood,
    bad: digitIdBad,
    normalised: asString,
  },
  { field: 'shop_id', base: vvtool, type: 'ship', good: textGood, bad: textBad },
  { field: 'feature', base: vvtool, type: 'ship', good: textGood, bad: textBad },
  { field: 'out_sid', base: vvtool, type: 'ship', good: waybillGood, bad: waybillBad },
  { field: 'company_code', base: vvtool, type: 'ship', good: carrierGood, bad: carrierBad },
  {
    field: 'sub_tid',
    base: () => ({ ...vvtool(), is_split: 1 }),
    type: 'ship',
    good: [
      '1',
      '10,9,100',
      '12345678901234567890,1',
      '0,0',
      Array.from({ length: 100 }, (_, i) => String(i + 1)).join(','),
    ],
    bad: [
      ['', SUB_TIDS],
      ['1,', SUB_TIDS],
      [',1', SUB_TIDS],
      ['1,,2', SUB_TIDS],
      ['1, 2', SUB_TIDS],
      ['1;2', SUB_TIDS],
      ['123456789012345678901', SUB_TIDS],
      [Array.from({ length: 101 }, (_, i) => String(i + 1)).join(','), SUB_TIDS],
      [['1', '2'], /got an array$/],
      [12, SUB_TIDS],
    ],
  },
  {
    field: 'is_split',
    base: () => ({ ...vvtool(), sub_tid: '1' }),
    type: 'ship',
    good: [0, 1],
    bad: [
      [2, /^must be the number 0 or 1/],
      ['1', /^must be the number 0 or 1/],
      [true, /^must be the number 0 or 1.*got true$/],
      [null, /not null\)$/],
    ],
  },
  {
    field: 'vvtype',
    base: vvtool,
    type: 'ship',
    good: [1, 2],
    bad: [
      [0, 'must be the number 1 (normal) or 2 (enhanced)'],
      [3, 'must be the number 1 (normal) or 2 (enhanced)'],
      ['2', 'must be the number 1 (normal) or 2 (enhanced)'],
    ],
  },
  { field: 'seller_nick', base: delivery, type: 'ship', good: textGood, bad: textBad },
  { field: 'order_no', base: delivery, type: 'ship', good: textGood, bad: textBad },
  { field: 'wp_code', base: delivery, type: 'ship', good: carrierGood, bad: carrierBad },
  { field: 'waybill_no', base: delivery, type: 'ship', good: waybillGood, bad: waybillBad },
  { field: 'orderSns', base: sync, type: 'sync', good: textGood, bad: textBad },
  { field: 'ownerId', base: sync, type: 'sync', good: textGood, bad: textBad },
];

describe.each(cases)('$field', ({ field, base, type, good, bad, normalised }) => {
  it.each(good.map((value) => [value]))('accepts %j', (value) => {
    const result = validateJob(type, { ...base(), [field]: value }, accounts);
    expect(result.ok ? null : result.issues).toBeNull();
    if (!result.ok) return;
    const data = result.job.data as Record<string, unknown>;
    expect(data[field]).toStrictEqual(normalised ? normalised(value) : value);
  });

  it.each(bad.map(([value, message]) => [value, message] as const))('refuses %j', (value, message) => {
    const issues = issuesOf(validateJob(type, { ...base(), [field]: value }, accounts));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe(field);
    if (typeof message === 'string') expect(issues[0]!.message).toBe(message);
    else expect(issues[0]!.message).toMatch(message);
  });
});

describe('account', () => {
  it.each([
    ['', /^must be an account id of 1-64 letters, digits, "_" or "-"/],
    ['a.b', /^must be an account id/],
    ['a:b', /^must be an account id/],
    ['a'.repeat(65), /^must be an account id/],
    [42, /^must be an account id/],
    [null, /^must be an account id/],
    ['ghost', 'account "ghost" is not configured'],
  ])('refuses %j', (value, message) => {
    const issues = issuesOf(validateJob('ship', { ...vvtool(), account: value }, accounts));
    expect(issues).toEqual([{ path: 'account', message: expect.stringMatching(message) }]);
  });

  it('is required', () => {
    const { account: _, ...rest } = vvtool();
    expect(issuesOf(validateJob('ship', rest, accounts))).toEqual([
      { path: 'account', message: 'is required' },
    ]);
  });
});

describe('normalisation', () => {
  it('turns safe JSON numbers into digit strings and keeps everything else as sent', () => {
    const input = {
      ...vvtool(),
      tid: 9007199254740991,
      sender_id: 0,
      cancel_id: '0012',
      sub_tid: '10,9,100',
      is_split: 1,
      vvtype: 2,
      feature: 'identCode=tid:aaa,bbb',
    };
    const result = validateJob('ship', input, accounts);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.job.data).toStrictEqual({
      account: 'vv_main',
      tid: '9007199254740991',
      shop_id: '1234567',
      out_sid: 'YT7512345678',
      company_code: 'YTO',
      sub_tid: '10,9,100',
      is_split: 1,
      sender_id: '0',
      cancel_id: '0012',
      feature: 'identCode=tid:aaa,bbb',
      vvtype: 2,
    });
    // The input is read, never changed.
    expect(input.tid).toBe(9007199254740991);
  });

  it('refuses a trade id that JSON.parse already rounded, and keeps the digits of the same id as a string', () => {
    const body = '{"account":"vv_main","tid":%s,"shop_id":"1","out_sid":"YT7512345678","company_code":"YTO"}';
    const asNumber = JSON.parse(body.replace('%s', '4238419273812394821'));
    expect(issuesOf(validateJob('ship', asNumber, accounts))[0]!.message).toMatch(/send it as a string/);
    const asString = validateJob('ship', JSON.parse(body.replace('%s', '"4238419273812394821"')), accounts);
    expect(asString.ok && asString.job.data).toMatchObject({ tid: '4238419273812394821' });
  });
});
