import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/index.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';
import { dmjCall, freshLedger, vvCall } from './fixtures.js';

let t: TestRedis;
beforeAll(async () => {
  t = await testRedis('ledger-recover');
});
afterAll(async () => {
  await t.cleanup();
});

const AT = Date.UTC(2024, 5, 30, 23, 59, 59, 900);

describe('recoverInflight', () => {
  it('turns the marks a crash left behind into unknown entries, exactly once', async () => {
    const ledger = freshLedger(t.redis, t.prefix);
    const job = vvCall({ jobId: 'vvtool.vv-main.42.all.YT1234567' });
    await ledger.markInflight({ ...job, attempt: 1 }, AT);
    await ledger.markInflight({ ...job, attempt: 2 }, AT + 200);
    // Marks of other jobs, some with ids that start like this one, stay where they are.
    const others = [
      vvCall({ jobId: `${job.jobId}#1` }),
      vvCall({ jobId: `${job.jobId}x` }),
      vvCall({ jobId: 'vvtool.vv-main.42.all.YT1234568' }),
    ];
    for (const ctx of others) await ledger.markInflight(ctx, AT);

    const recovered = await ledger.recoverInflight(job.jobId);
    expect(recovered).toEqual([
      expect.objectContaining({ id: `${job.jobId}#1`, attempt: 1, at: '2024-06-30T23:59:59.900Z' }),
      expect.objectContaining({ id: `${job.jobId}#2`, attempt: 2, at: '2024-07-01T00:00:00.100Z' }),
    ]);
    for (const entry of recovered) {
      expect(entry).toMatchObject({ amount: null, status: 'unknown', account: job.account, shop: job.shop });
    }
    expect(await ledger.recoverInflight(job.jobId)).toEqual([]);
    expect((await t.redis.hkeys(ledger.inflightKey())).sort()).toEqual(
      others.map((c) => ledger.inflightField(c)).sort(),
    );

    // The old attempt's answer arriving late does not add a second entry.
    expect(await ledger.settle({ ...job, attempt: 1 }, { amount: 5 }, AT + 1_000)).toBeNull();
    expect(await ledger.summary({})).toEqual({ total: 0, calls: 2, unknown: 2, groups: [] });
    expect((await ledger.entries({})).items).toEqual(recovered);
  });

  it('leaves nothing to recover after a settle, and dates entries by `at` when given', async () => {
    const ledger = freshLedger(t.redis, t.prefix);
    const job = dmjCall();
    await ledger.markInflight(job, AT);
    await ledger.settle(job, { amount: 2 }, AT + 10);
    expect(await ledger.recoverInflight(job.jobId)).toEqual([]);

    await ledger.markInflight({ ...job, attempt: 2 }, AT + 20);
    const [entry] = await ledger.recoverInflight(job.jobId, AT + 5_000);
    expect(entry).toMatchObject({ id: `${job.jobId}#2`, at: new Date(AT + 5_000).toISOString() });
    expect(await ledger.summary({})).toEqual({ total: 2, calls: 2, unknown: 1, groups: [] });
  });

  it('matches job ids literally, glob characters included', async () => {
    const ledger = freshLedger(t.redis, t.prefix);
    const odd = vvCall({ jobId: 'a*[b]?\\c' });
    const near = vvCall({ jobId: 'aX[b]?\\c' });
    await ledger.markInflight(odd, AT);
    await ledger.markInflight(near, AT);
    expect((await ledger.recoverInflight(odd.jobId)).map((e) => e.jobId)).toEqual([odd.jobId]);
    expect(await t.redis.hkeys(ledger.inflightKey())).toEqual([ledger.inflightField(near)]);
  });

  it('racing a settle of the same call from another connection, one entry results', async () => {
    const other = new Redis(t.url, { maxRetriesPerRequest: null });
    try {
      const prefix = `${t.prefix}:race`;
      const a = new Ledger(t.redis, prefix);
      const b = new Ledger(other, prefix);
      const jobs = Array.from({ length: 30 }, () => vvCall());
      for (const job of jobs) await a.markInflight(job, AT);
      const results = await Promise.all(
        jobs.map(async (job) => {
          const [recovered, settled] = await Promise.all([
            a.recoverInflight(job.jobId),
            b.settle(job, { amount: 1 }, AT + 1),
          ]);
          return recovered.length + (settled === null ? 0 : 1);
        }),
      );
      expect(results).toEqual(jobs.map(() => 1));
      expect((await a.summary({})).calls).toBe(jobs.length);
      expect(await t.redis.exists(a.inflightKey())).toBe(0);
    } finally {
      other.disconnect();
    }
  });
});

describe('recoverStale', () => {
  it('converts only marks older than the age given, dated when their call was sent', async () => {
    const ledger = freshLedger(t.redis, t.prefix);
    const now = AT + 3_600_000;
    const old = vvCall();
    const live = vvCall();
    await ledger.markInflight(old, now - 10 * 60_000);
    await ledger.markInflight(live, now - 1_000);
    const swept = await ledger.recoverStale(5 * 60_000, now);
    expect(swept).toEqual([
      expect.objectContaining({
        jobId: old.jobId,
        status: 'unknown',
        at: new Date(now - 600_000).toISOString(),
      }),
    ]);
    expect(await t.redis.hkeys(ledger.inflightKey())).toEqual([ledger.inflightField(live)]);
    expect(await ledger.recoverStale(5 * 60_000, now)).toEqual([]);
  });

  it('says which mark is corrupt instead of guessing its entry', async () => {
    const ledger = freshLedger(t.redis, t.prefix);
    await t.redis.hset(ledger.inflightKey(), 'job-x#1', 'not json');
    await expect(ledger.recoverInflight('job-x')).rejects.toMatchObject({ kind: 'corrupt' });
    expect(await t.redis.hget(ledger.inflightKey(), 'job-x#1')).toBe('not json');
  });
});
