import { accountLookup, type Issue, type JobValidation } from '../../src/jobs/index.js';

/** Configured accounts for the jobs tests: one per provider. */
export const accounts = accountLookup([
  { id: 'vv_main', provider: 'vvtool' },
  { id: 'dmj-1', provider: 'damaijia' },
]);

export const vvtool = () => ({
  account: 'vv_main',
  tid: '4238419273812394821',
  shop_id: '1234567',
  out_sid: 'YT7512345678',
  company_code: 'YTO',
});

export const delivery = () => ({
  account: 'dmj-1',
  seller_nick: '小店旗舰店',
  order_no: 'DMJ20240101-0001',
  wp_code: 'ZTO',
  waybill_no: '75123456789012',
});

export const sync = () => ({ account: 'dmj-1', orderSns: '3876122330149', ownerId: 'owner-88' });

/** The issues of a refused result; fails the test if it was accepted. */
export function issuesOf(result: JobValidation | { ok: boolean; issues?: Issue[] }): Issue[] {
  if (result.ok || !('issues' in result) || !result.issues) {
    throw new Error(`expected a refusal, got ${JSON.stringify(result)}`);
  }
  return result.issues;
}

export function pathsOf(result: JobValidation): string[] {
  return issuesOf(result).map((issue) => issue.path);
}
