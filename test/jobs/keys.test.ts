import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACCOUNT_ID_PATTERN } from '../../src/config/accounts.js';
import {
  accountLookup,
  escapeKeyPart,
  idempotencyKey,
  type JobData,
  MAX_ACCOUNT_ID_LENGTH,
  MAX_KEY_LENGTH,
  sortIds,
  unescapeKeyPart,
  validateJob,
} from '../../src/jobs/index.js';
import { accounts, delivery, sync, vvtool } from './fixtures.js';

const ship = (extra: Record<string, unknown>) => {
  const result = validateJob('ship', { ...vvtool(), ...extra }, accounts);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.job;
};

describe('vvtool.send keys', () => {
  it('is vvtool.{account}.{tid}.all.{out_sid} without sub-orders', () => {
    expect(ship({}).id).toBe('vvtool.vv_main.4238419273812394821.all.YT7512345678');
  });

  it('puts the sub-order ids in numeric order, not text order', () => {
    const job = ship({ sub_tid: '10,9,100', is_split: 1 });
    expect(job.id).toBe('vvtool.vv_main.4238419273812394821.9,10,100.YT7512345678');
    // ... while the payload keeps them as sent, for the upstream.
    expect(job.data).toMatchObject({ sub_tid: '10,9,100' });
  });

  it('orders ids past 2^53 and 2^64 exactly', () => {
    expect(sortIds('18446744073709551616,9007199254740993,9007199254740992,99999999999999999999,2')).toBe(
      '2,9007199254740992,9007199254740993,18446744073709551616,99999999999999999999',
    );
  });

  it('gives the same key for the same sub-orders in any order, repeated or with leading zeros', () => {
    const a = ship({ sub_tid: '007,7,3,3', is_split: 1 }).id;
    const b = ship({ sub_tid: '3,7,3,007', is_split: 1 }).id;
    const c = ship({ sub_tid: '3,7', is_split: 1 }).id;
    expect(a).toBe(c);
    expect(b).toBe(c);
    expect(c).toContain('.3,7.');
    // The payload keeps the ids as sent, for the upstream.
    expect(ship({ sub_tid: '007,7,3,3', is_split: 1 }).data).toMatchObject({ sub_tid: '007,7,3,3' });
  });

  it('writes a trade id without leading zeros: "0123" and "123" are one trade', () => {
    expect(ship({ tid: '0123' }).id).toBe(ship({ tid: '123' }).id);
    expect(ship({ tid: '000' }).id).toBe(ship({ tid: 0 }).id);
    expect(ship({ tid: '0123' }).id).toBe('vvtool.vv_main.123.all.YT7512345678');
  });

  it('tells a split shipment from the whole trade, and one waybill from another', () => {
    const keys = new Set([
      ship({}).id,
      ship({ sub_tid: '1', is_split: 1 }).id,
      ship({ sub_tid: '1', is_split: 1, out_sid: 'YT0000000001' }).id,
      ship({ account: 'vv_main', tid: '1' }).id,
    ]);
    expect(keys.size).toBe(4);
  });

  it('is the same for an id sent as a number or as its digits', () => {
    expect(ship({ tid: 123 }).id).toBe(ship({ tid: '123' }).id);
  });
});

describe('damaijia.delivery keys', () => {
  const key = (order_no: string) => {
    const result = validateJob('ship', { ...delivery(), order_no }, accounts);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    return result.job.id;
  };

  it('is damaijia.{account}.{order_no}.{waybill_no}', () => {
    expect(key('DMJ20240101-0001')).toBe('damaijia.dmj-1.DMJ20240101-0001.75123456789012');
  });

  it.each([
    ['A.1', 'A%2E1'],
    ['shop:123', 'shop%3A123'],
    ['50%', '50%25'],
    ['a b/c', 'a%20b%2Fc'],
    ['订单1', '%E8%AE%A2%E5%8D%951'],
    ['😀', '%F0%9F%98%80'],
  ])('escapes order_no %j as %s, reversibly', (order, escaped) => {
    expect(key(order)).toBe(`damaijia.dmj-1.${escaped}.75123456789012`);
    expect(unescapeKeyPart(escaped)).toBe(order);
  });

  it('keeps distinct orders distinct even when they differ only by a dot or colon', () => {
    expect(new Set([key('A.1'), key('A:1'), key('A%2E1'), key('A_1')]).size).toBe(4);
  });

  it('escapes any text reversibly into [A-Za-z0-9_%-] (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 64 }), (text) => {
        const escaped = escapeKeyPart(text);
        expect(escaped).toMatch(/^[A-Za-z0-9_%-]*$/);
        expect(unescapeKeyPart(escaped)).toBe(text);
      }),
    );
  });
});

describe('damaijia.sync', () => {
  it('has no key: a sync may be repeated on purpose', () => {
    const result = validateJob('sync', sync(), accounts);
    expect(result.ok && result.job.id).toBeNull();
    expect(idempotencyKey('damaijia.sync', sync())).toBeNull();
  });
});

describe('idempotencyKey', () => {
  it('is what validateJob puts in the job id', () => {
    const job = ship({ sub_tid: '5,4', is_split: 1 });
    expect(idempotencyKey(job.name, job.data)).toBe(job.id);
  });

  it('reads only an own sub_tid', () => {
    const data = Object.create({ sub_tid: '1,2' }) as JobData<'vvtool.send'>;
    Object.assign(data, { account: 'a', tid: '1', shop_id: 's', out_sid: 'YT123456', company_code: 'YT' });
    expect(idempotencyKey('vvtool.send', data)).toBe('vvtool.a.1.all.YT123456');
  });
});

/** A digit string naming `value`, with `zeros` leading zeros (at most 20 digits in all). */
const padded = (value: bigint, zeros: number) => `${'0'.repeat(zeros)}${value}`.slice(-20);

/** One vv-tool shipment: trade, sub-orders (none: the whole trade), waybill. */
const shipment = fc.record({
  tid: fc.bigInt({ min: 0n, max: 10n ** 18n }),
  subs: fc.uniqueArray(fc.bigInt({ min: 0n, max: 10n ** 18n }), { maxLength: 6 }),
  waybill: fc.stringMatching(/^[A-Za-z0-9-]{6,40}$/),
});
type Shipment = { tid: bigint; subs: readonly bigint[]; waybill: string };

/** The shipment's key, from its fields written plainly. */
const plainKey = (s: Shipment) => keyOf(String(s.tid), s.subs.map(String), s.waybill);

const keyOf = (tid: string | number, subs: readonly string[], waybill: string) => {
  const split = subs.length > 0 ? { sub_tid: subs.join(','), is_split: 1 } : {};
  return ship({ tid, out_sid: waybill, ...split }).id!;
};

/**
 * The same shipment written another way: the trade id with leading zeros (or as a JSON number), the
 * sub-order ids with leading zeros, some repeated, in any order.
 */
const rewritten = shipment.chain((s) =>
  fc
    .record({
      tidZeros: fc.nat({ max: 3 }),
      tidAsNumber: fc.boolean(),
      subZeros: fc.array(fc.nat({ max: 3 }), { minLength: s.subs.length, maxLength: s.subs.length }),
      repeats: fc.subarray([...s.subs]),
    })
    .chain((w) => {
      const tid =
        w.tidAsNumber && s.tid <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s.tid) : padded(s.tid, w.tidZeros);
      const ids = [...s.subs.map((id, i) => padded(id, w.subZeros[i]!)), ...w.repeats.map(String)];
      return fc
        .shuffledSubarray(ids, { minLength: ids.length, maxLength: ids.length })
        .map((order) => ({ s, tid, subs: order }));
    }),
);

describe('normalised keys (properties)', () => {
  it('the same shipment, however written, has one key', () => {
    fc.assert(
      fc.property(rewritten, ({ s, tid, subs }) => {
        expect(keyOf(tid, subs, s.waybill)).toBe(plainKey(s));
      }),
      { numRuns: 1000 },
    );
  });

  it('different trades, sub-order sets or waybills have different keys', () => {
    const sameShipment = (a: Shipment, b: Shipment) =>
      a.tid === b.tid && a.waybill === b.waybill && [...a.subs].sort().join() === [...b.subs].sort().join();
    fc.assert(
      fc.property(shipment, shipment, (a, b) => {
        expect(plainKey(a) === plainKey(b)).toBe(sameShipment(a, b));
      }),
      { numRuns: 500 },
    );
  });

  it('never contain ":", are never bare integers, and fit MAX_KEY_LENGTH', () => {
    const order = fc.record({
      order_no: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
      waybill_no: fc.stringMatching(/^[A-Za-z0-9-]{6,40}$/),
    });
    fc.assert(
      fc.property(rewritten, order, ({ s, tid, subs }, d) => {
        const keys = [keyOf(tid, subs, s.waybill)];
        const delivery = { account: 'dmj-1', seller_nick: 'n', wp_code: 'ZTO', ...d };
        const result = validateJob('ship', delivery, accounts);
        if (result.ok) keys.push(result.job.id!);
        for (const key of keys) {
          expect(key).not.toContain(':');
          expect(key).not.toMatch(/^[0-9]+$/);
          expect(key.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('MAX_KEY_LENGTH', () => {
  const longAccount = 'a'.repeat(MAX_ACCOUNT_ID_LENGTH);
  const long = accountLookup([
    { id: longAccount, provider: 'damaijia' },
    { id: `v${longAccount.slice(1)}`, provider: 'vvtool' },
  ]);

  it('matches the account rule', () => {
    expect(ACCOUNT_ID_PATTERN.test(longAccount)).toBe(true);
    expect(ACCOUNT_ID_PATTERN.test(`${longAccount}a`)).toBe(false);
  });

  it('is the length of the longest damaijia key, and longer than any vv-tool key', () => {
    const dm = validateJob(
      'ship',
      {
        account: longAccount,
        seller_nick: 'n',
        order_no: '😀'.repeat(256),
        wp_code: 'ZTO',
        waybill_no: 'W'.repeat(40),
      },
      long,
    );
    const subs = Array.from({ length: 100 }, (_, i) => `${10n ** 19n + BigInt(i)}`).join(',');
    const vv = validateJob(
      'ship',
      {
        account: `v${longAccount.slice(1)}`,
        tid: '9'.repeat(20),
        shop_id: 's',
        out_sid: 'Y'.repeat(40),
        company_code: 'YTO',
        sub_tid: subs,
        is_split: 1,
      },
      long,
    );
    if (!dm.ok || !vv.ok) throw new Error(JSON.stringify([dm, vv]));
    expect(dm.job.id!.length).toBe(MAX_KEY_LENGTH);
    expect(vv.job.id!.length).toBeLessThan(MAX_KEY_LENGTH);
  });
});
