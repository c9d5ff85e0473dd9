import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limiterKeys } from '../../src/keys.js';
import { AccountLimiter } from '../../src/limiter/index.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';

// A process's first second of calls is when it is likeliest to stall, before it has measured any
// lag while busy: it reports a start's lag, so its first calls may be that late and the account's
// slots are spaced for it, instead of its calls being refused at the socket and losing their slots.
const RATE = 10;
const MARGIN_MS = 25;
let t: TestRedis;

beforeAll(async () => {
  t = await testRedis('limiter-lag');
});
afterAll(async () => {
  await t?.cleanup();
});

describe("a process's first calls", () => {
  it('may be late by a start-up lag, and the account is spaced for it', async () => {
    const limiter = new AccountLimiter(t.redis, t.prefix, { marginMs: MARGIN_MS, lateToleranceMs: 10 });
    try {
      await limiter.calibrate([{ id: 'starting', ratePerSecond: RATE }]);
      const startingLag = limiter.recentLagMs();
      expect(startingLag).toBeGreaterThan(0);
      const key = limiterKeys.account(t.prefix, 'starting');
      const ask = (jobId: string) =>
        limiter.acquire({
          account: { id: 'starting', ratePerSecond: RATE },
          jobId,
          parkedMember: `ship/${jobId}`,
          markerKey: `${t.prefix}:marker:${jobId}`,
          jobKey: `${t.prefix}:ship:${jobId}`,
        });
      const first = await ask('s1');
      if (first.kind !== 'grant') throw new Error(`expected a grant, got ${first.kind}`);
      expect(first.allowedLateMs).toBeCloseTo(10 + startingLag, 3);
      const tatAfterFirst = Number(await t.redis.hget(key, 'tat'));
      expect((await ask('s2')).kind).toBe('grant');
      // The next free slot moved on by the spacing plus the lag spread over the rate's slots.
      const tatAfterSecond = Number(await t.redis.hget(key, 'tat'));
      expect(tatAfterSecond - tatAfterFirst).toBe(
        limiter.spacingUs(RATE) + Math.ceil((startingLag * 1000) / RATE),
      );
    } finally {
      limiter.close();
    }
  });
});
