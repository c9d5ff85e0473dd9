import { describe, expect, it } from 'vitest';
import { validateBatch, validateJobData } from '../../src/jobs/index.js';
import { accounts, delivery, issuesOf, sync, vvtool } from './fixtures.js';

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
