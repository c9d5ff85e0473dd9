import { afterEach, describe, expect, it } from 'vitest';
import {
  type AccountLookup,
  ValidationError,
  validateBatch,
  validateJob,
  validateJobData,
} from '../../src/jobs/index.js';
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

describe('prototype safety', () => {
  it.each([
    ['__proto__', '{"tid": "1"}'],
    ['constructor', '{"prototype": {"tid": "1"}}'],
    ['prototype', '"x"'],
  ])('refuses the key %s by name', (key, value) => {
    // JSON.parse makes "__proto__" an own key (an object literal would set the prototype instead).
    const input = JSON.parse(`${JSON.stringify(vvtool()).slice(0, -1)},"${key}":${value}}`);
    expect(Object.hasOwn(input, key)).toBe(true);
    expect(issuesOf(validateJob('ship', input, accounts))).toEqual([
      { path: key, message: 'is not allowed as a field name' },
    ]);
  });

  it('refuses a __proto__ key inside a batch item', () => {
    const body = JSON.parse(
      `{"jobs":[{"type":"sync","account":"dmj-1","orderSns":"1","ownerId":"2","__proto__":{"x":1}}]}`,
    );
    expect(issuesOf(validateBatch(body, accounts))).toEqual([
      { path: 'jobs.0.__proto__', message: 'is not allowed as a field name' },
    ]);
  });

  describe('with a polluted Object.prototype', () => {
    const polluted = ['tid', 'shop_id', 'out_sid', 'company_code', 'sub_tid', 'account', 'type', 'jobs'];
    afterEach(() => {
      for (const key of polluted) delete (Object.prototype as Record<string, unknown>)[key];
    });
    const pollute = (values: Record<string, unknown>) => {
      for (const [key, value] of Object.entries(values)) {
        Object.defineProperty(Object.prototype, key, { value, configurable: true, writable: true, enumerable: true });
      }
    };

    it('does not take inherited fields for given ones', () => {
      pollute({ tid: '1', shop_id: 's', out_sid: 'YT1234567', company_code: 'YTO', account: 'vv_main' });
      expect(pathsOf(validateJob('ship', {}, accounts))).toEqual(['account']);
      expect(pathsOf(validateJob('ship', { account: 'vv_main' }, accounts))).toEqual([
        'tid',
        'shop_id',
        'out_sid',
        'company_code',
      ]);
    });

    it('does not let an inherited sub_tid pair with is_split or change the key', () => {
      pollute({ sub_tid: '99' });
      expect(issuesOf(validateJob('ship', { ...vvtool(), is_split: 1 }, accounts))).toEqual([
        { path: 'is_split', message: 'must be given together with sub_tid' },
      ]);
      const result = validateJob('ship', vvtool(), accounts);
      expect(result.ok && result.job.id).toBe('vvtool.vv_main.4238419273812394821.all.YT7512345678');
    });

    it('does not take an inherited type or jobs in a batch', () => {
      pollute({ type: 'ship', jobs: [] });
      expect(issuesOf(validateBatch({}, accounts))).toEqual([{ path: 'jobs', message: 'is required' }]);
      expect(issuesOf(validateBatch({ jobs: [sync()] }, accounts))).toEqual([
        { path: 'jobs.0.type', message: 'is required' },
      ]);
    });
  });

  it('reads no getters: an accessor property counts as absent', () => {
    const input: Record<string, unknown> = vvtool();
    let reads = 0;
    Object.defineProperty(input, 'tid', {
      enumerable: true,
      get: () => {
        reads += 1;
        return '1';
      },
    });
    expect(issuesOf(validateJob('ship', input, accounts))).toEqual([{ path: 'tid', message: 'is required' }]);
    expect(reads).toBe(0);
  });

  it('returns plain data objects, not the input', () => {
    const input = vvtool();
    const result = validateJob('ship', input, accounts);
    expect(result.ok && result.job.data).not.toBe(input);
    expect(result.ok && Object.getPrototypeOf(result.job.data)).toBe(Object.prototype);
  });
});

describe('validateJobData', () => {
  it('accepts job data another producer wrote with numeric ids, and normalises them', () => {
    const result = validateJobData('vvtool.send', { ...vvtool(), tid: 123, sender_id: 45 }, accounts);
    expect(result.ok && result.job.data).toMatchObject({ tid: '123', sender_id: '45' });
    expect(result.ok && result.job.id).toBe('vvtool.vv_main.123.all.YT7512345678');
  });

  it('checks a redrive patch applied to stored data', () => {
    const stored = delivery();
    const patched = validateJobData('damaijia.delivery', { ...stored, waybill_no: 'YT99' }, accounts);
    expect(issuesOf(patched)).toEqual([
      { path: 'waybill_no', message: expect.stringMatching(/^must be a waybill number/) },
    ]);
    const fixed = validateJobData('damaijia.delivery', { ...stored, waybill_no: 'YT99887766' }, accounts);
    expect(fixed.ok && fixed.job.id).toBe('damaijia.dmj-1.DMJ20240101-0001.YT99887766');
  });

  it('refuses data whose account belongs to another provider than the job name', () => {
    expect(issuesOf(validateJobData('damaijia.sync', { ...sync(), account: 'vv_main' }, accounts))).toEqual([
      {
        path: 'account',
        message: 'account "vv_main" is a vvtool account, but damaijia.sync needs a damaijia account',
      },
    ]);
  });

  it('refuses a job name it does not know', () => {
    expect(issuesOf(validateJobData('vvtool.cancel' as 'vvtool.send', vvtool(), accounts))).toEqual([
      { path: 'name', message: 'must be one of vvtool.send, damaijia.delivery, damaijia.sync' },
    ]);
  });

  it('names every problem of stored data, including fields of the other job', () => {
    const result = validateJobData(
      'damaijia.sync',
      { account: 'dmj-1', orderSns: '', seller_nick: 'x' },
      accounts,
    );
    expect(issuesOf(result)).toEqual([
      { path: 'orderSns', message: expect.stringMatching(/got an empty string$/) },
      { path: 'ownerId', message: 'is required' },
      { path: 'seller_nick', message: 'is a damaijia.delivery field, not a damaijia.sync field' },
    ]);
  });
});

describe('validateBatch', () => {
  it('validates every job and keeps input order', () => {
    const result = validateBatch(
      {
        jobs: [
          { type: 'sync', ...sync() },
          { type: 'ship', ...vvtool() },
          { type: 'ship', ...delivery() },
        ],
      },
      accounts,
    );
    expect(result.ok && result.jobs.map((job) => job.name)).toEqual([
      'damaijia.sync',
      'vvtool.send',
      'damaijia.delivery',
    ]);
  });

  it('names each bad job by index, and refuses the whole batch', () => {
    const result = validateBatch(
      {
        jobs: [
          { type: 'ship', ...vvtool() },
          { type: 'ship', ...vvtool(), tid: 'x' },
          'not a job',
          { type: 'later', ...sync() },
          { ...sync() },
          { type: 'sync', ...sync(), account: 'vv_main' },
        ],
        dryRun: true,
      },
      accounts,
    );
    expect(issuesOf(result)).toEqual([
      { path: 'dryRun', message: 'unknown field' },
      { path: 'jobs.1.tid', message: expect.stringMatching(/^must be a string of 1-20 digits/) },
      { path: 'jobs.2', message: 'must be a JSON object with "type", "account" and the payload fields' },
      { path: 'jobs.3.type', message: 'must be "ship" or "sync"' },
      { path: 'jobs.4.type', message: 'is required' },
      {
        path: 'jobs.5.account',
        message: 'account "vv_main" is a vvtool account; sync is only for damaijia accounts',
      },
    ]);
  });

  it('takes 1,000 jobs and refuses 1,001', () => {
    const jobs = Array.from({ length: 1000 }, () => ({ type: 'sync', ...sync() }));
    const ok = validateBatch({ jobs }, accounts);
    expect(ok.ok && ok.jobs).toHaveLength(1000);
    expect(issuesOf(validateBatch({ jobs: [...jobs, jobs[0]] }, accounts))).toEqual([
      { path: 'jobs', message: 'must hold at most 1000 jobs (got 1001); split the batch' },
    ]);
  });

  it.each([
    [{}, [{ path: 'jobs', message: 'is required' }]],
    [{ jobs: {} }, [{ path: 'jobs', message: 'must be an array of at most 1000 jobs' }]],
    [[], [{ path: '$', message: 'must be a JSON object {"jobs": [...]}' }]],
  ])('refuses %j', (input, expected) => {
    expect(issuesOf(validateBatch(input, accounts))).toEqual(expected);
  });

  it('accepts an empty batch', () => {
    expect(validateBatch({ jobs: [] }, accounts)).toEqual({ ok: true, jobs: [] });
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
