import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  escapeKeyPart,
  idempotencyKey,
  type JobData,
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

  it('gives the same key for the same sub-orders in any order, leading zeros included', () => {
    const a = ship({ sub_tid: '007,7,3,3', is_split: 1 }).id;
    const b = ship({ sub_tid: '3,7,3,007', is_split: 1 }).id;
    expect(a).toBe(b);
    expect(a).toContain('.3,3,007,7.');
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
