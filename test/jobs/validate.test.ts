import { describe, expect, it } from 'vitest';
import { type AccountLookup, ValidationError, validateJob } from '../../src/jobs/index.js';
import { accounts, delivery, issuesOf, pathsOf, sync, vvtool } from './fixtures.js';

describe('validateJob', () => {
  it('accepts a ship request for a vvtool account as vvtool.send, with its idempotency key', () => {
    const result = validateJob('ship', vvtool(), accounts);
    expect(result).toEqual({
      ok: true,
      job: {
        name: 'vvtool.send',
        queue: 'ship',
        provider: 'vvtool',
        account: 'vv_main',
        data: vvtool(),
        id: 'vvtool.vv_main.4238419273812394821.all.YT7512345678',
      },
    });
  });

  it('accepts a ship request for a damaijia account as damaijia.delivery', () => {
    const result = validateJob('ship', delivery(), accounts);
    expect(result.ok && result.job).toMatchObject({
      name: 'damaijia.delivery',
      queue: 'ship',
      provider: 'damaijia',
      id: 'damaijia.dmj-1.DMJ20240101-0001.75123456789012',
    });
  });

  it('accepts a sync for a damaijia account, without an idempotency key', () => {
    const result = validateJob('sync', sync(), accounts);
    expect(result.ok && result.job).toMatchObject({ name: 'damaijia.sync', queue: 'sync', id: null });
  });

  it('names every problem, not just the first', () => {
    const result = validateJob(
      'ship',
      { account: 'vv_main', tid: 'abc', shop_id: '', out_sid: 'short', sub_tid: '1', color: 'red' },
      accounts,
    );
    expect(issuesOf(result)).toEqual([
      { path: 'tid', message: expect.stringMatching(/^must be a string of 1-20 digits/) },
      { path: 'shop_id', message: expect.stringMatching(/got an empty string$/) },
      { path: 'out_sid', message: expect.stringMatching(/^must be a waybill number/) },
      { path: 'company_code', message: 'is required' },
      { path: 'sub_tid', message: 'must be given together with is_split' },
      { path: 'color', message: 'unknown field' },
    ]);
  });

  it('names the five problems of a payload with five problems', () => {
    const input = { ...vvtool(), tid: 2 ** 60, company_code: 'X', vvtype: 3, is_split: 1, extra: true };
    expect(pathsOf(validateJob('ship', input, accounts))).toEqual([
      'tid',
      'company_code',
      'vvtype',
      'is_split',
      'extra',
    ]);
  });

  describe('is_split and sub_tid come together', () => {
    it.each([
      [{}, []],
      [{ is_split: 1, sub_tid: '1,2' }, []],
      [{ is_split: 0, sub_tid: '3' }, []],
      [{ sub_tid: '1,2' }, [{ path: 'sub_tid', message: 'must be given together with is_split' }]],
      [{ is_split: 1 }, [{ path: 'is_split', message: 'must be given together with sub_tid' }]],
      [{ is_split: 0 }, [{ path: 'is_split', message: 'must be given together with sub_tid' }]],
      // undefined is absent, as JSON.stringify would leave it out.
      [
        { is_split: 1, sub_tid: undefined },
        [{ path: 'is_split', message: 'must be given together with sub_tid' }],
      ],
    ])('%j', (extra, expected) => {
      const result = validateJob('ship', { ...vvtool(), ...extra }, accounts);
      expect(result.ok ? [] : result.issues).toEqual(expected);
    });

    it('names both a bad value and the missing partner', () => {
      expect(issuesOf(validateJob('ship', { ...vvtool(), is_split: 7 }, accounts))).toEqual([
        { path: 'is_split', message: expect.stringMatching(/^must be the number 0 or 1/) },
        { path: 'is_split', message: 'must be given together with sub_tid' },
      ]);
    });
  });

  describe('the account decides the provider', () => {
    it("names another provider's field as that provider's, and the account's provider", () => {
      const result = validateJob(
        'ship',
        { ...vvtool(), seller_nick: 'shop', waybill_no: 'YT1234567' },
        accounts,
      );
      expect(issuesOf(result)).toEqual([
        {
          path: 'seller_nick',
          message: 'is a damaijia field (damaijia.delivery), but account "vv_main" is a vvtool account',
        },
        {
          path: 'waybill_no',
          message: 'is a damaijia field (damaijia.delivery), but account "vv_main" is a vvtool account',
        },
      ]);
    });

    it('refuses vvtool fields on a damaijia account', () => {
      const result = validateJob('ship', { ...delivery(), tid: '1', is_split: 1 }, accounts);
      expect(issuesOf(result)).toEqual([
        {
          path: 'tid',
          message: 'is a vvtool field (vvtool.send), but account "dmj-1" is a damaijia account',
        },
        {
          path: 'is_split',
          message: 'is a vvtool field (vvtool.send), but account "dmj-1" is a damaijia account',
        },
      ]);
    });

    it('tells a sync field sent to ship apart from an unknown one', () => {
      const result = validateJob('ship', { ...delivery(), orderSns: '1', waybillNo: 'YT1234567' }, accounts);
      expect(issuesOf(result)).toEqual([
        { path: 'orderSns', message: 'is a damaijia.sync field, not a damaijia.delivery field' },
        { path: 'waybillNo', message: 'unknown field' },
      ]);
    });

    it('refuses a sync for a vvtool account', () => {
      const result = validateJob('sync', { ...sync(), account: 'vv_main' }, accounts);
      expect(issuesOf(result)).toEqual([
        {
          path: 'account',
          message: 'account "vv_main" is a vvtool account; sync is only for damaijia accounts',
        },
      ]);
    });

    it('names an unknown account and still checks the payload its fields point to', () => {
      const result = validateJob(
        'ship',
        { ...vvtool(), account: 'ghost', out_sid: '1', seller_nick: 'x' },
        accounts,
      );
      expect(issuesOf(result)).toEqual([
        { path: 'account', message: 'account "ghost" is not configured' },
        { path: 'out_sid', message: expect.stringMatching(/^must be a waybill number/) },
        { path: 'seller_nick', message: 'is a damaijia.delivery field, not a vvtool.send field' },
      ]);
    });

    it('names only the account and unknown fields when the fields do not tell the provider', () => {
      const result = validateJob('ship', { account: 'ghost', color: 'red' }, accounts);
      expect(issuesOf(result)).toEqual([
        { path: 'account', message: 'account "ghost" is not configured' },
        { path: 'color', message: 'unknown field' },
      ]);
    });

    it('trusts only lookup entries that are what they claim', () => {
      // A lookup built on a plain object answers "constructor" with a function.
      const table: Record<string, { id: string; provider: 'vvtool' | 'damaijia' }> = {
        vv_main: { id: 'vv_main', provider: 'vvtool' },
      };
      const naive: AccountLookup = { get: (id) => table[id] };
      expect(issuesOf(validateJob('ship', { ...vvtool(), account: 'constructor' }, naive))).toEqual([
        { path: 'account', message: 'account "constructor" is not configured' },
      ]);
      const lying: AccountLookup = { get: () => ({ id: 'other', provider: 'vvtool' }) };
      expect(pathsOf(validateJob('ship', vvtool(), lying))).toEqual(['account']);
    });
  });

  describe('input that is not a payload', () => {
    it.each([null, undefined, 'tid=1', 42, true, [vvtool()]])('refuses %j as a whole', (input) => {
      expect(issuesOf(validateJob('ship', input, accounts))).toEqual([
        { path: '$', message: 'must be a JSON object with "account" and the payload fields' },
      ]);
    });

    it('refuses a request type other than ship or sync', () => {
      const type = 'dead' as 'ship';
      expect(issuesOf(validateJob(type, vvtool(), accounts))).toEqual([
        { path: 'type', message: 'must be "ship" or "sync"' },
      ]);
    });

    it('names an empty or very long field name readably', () => {
      const result = validateJob('ship', { ...vvtool(), '': 1, ['k'.repeat(500)]: 1 }, accounts);
      expect(issuesOf(result)).toEqual([
        { path: '""', message: 'unknown field' },
        { path: `${'k'.repeat(64)}…`, message: 'unknown field' },
      ]);
    });
  });
});

describe('ValidationError', () => {
  it('carries its kind and issues, and lists them in its message', () => {
    const issues = issuesOf(validateJob('ship', { account: 'vv_main', tid: 'x' }, accounts));
    const error = new ValidationError(issues);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ValidationError');
    expect(error.kind).toBe('invalid');
    expect(error.issues).toEqual(issues);
    expect(error.message).toMatch(
      /^invalid job: tid: must be a string of 1-20 digits .*; shop_id: is required;/,
    );
    expect(JSON.parse(JSON.stringify({ ...error, message: error.message }))).toMatchObject({
      kind: 'invalid',
    });
  });

  it('keeps a long list readable', () => {
    const issues = Array.from({ length: 25 }, (_, i) => ({ path: `jobs.${i}.tid`, message: 'is required' }));
    expect(new ValidationError(issues).message).toMatch(/jobs\.19\.tid: is required; and 5 more$/);
  });
});
