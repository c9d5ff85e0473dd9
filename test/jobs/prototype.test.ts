import { afterEach, describe, expect, it } from 'vitest';
import { validateBatch, validateJob } from '../../src/jobs/index.js';
import { accounts, issuesOf, pathsOf, sync, vvtool } from './fixtures.js';

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
        Object.defineProperty(Object.prototype, key, {
          value,
          configurable: true,
          writable: true,
          enumerable: true,
        });
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
