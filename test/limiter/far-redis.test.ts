import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limiterKeys } from '../../src/keys.js';
import { AccountLimiter } from '../../src/limiter/index.js';
import { redisUrl, type TestRedis, testRedis } from '../helpers/redis.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

// Redis further away than the 30 ms floor of the tolerance: a TCP proxy on loopback that holds every chunk
// for DELAY_MS each way. The tolerance follows the measured round trip, so the limiter still grants
// calls it can send, and the window after each call pays for that lateness, whatever the margin.
const DELAY_MS = 20;
let t: TestRedis;
let proxy: TcpProxy;
let far: Redis;

beforeAll(async () => {
  t = await testRedis('far-redis');
  const target = new URL(redisUrl());
  proxy = await startTcpProxy(Number(target.port || 6379), target.hostname, DELAY_MS);
  far = new Redis({ host: '127.0.0.1', port: proxy.port });
});
afterAll(async () => {
  far?.disconnect();
  await proxy?.close();
  await t?.cleanup();
});

/** One job's gate call at 10/s on `account`, which must be granted. */
async function grantOf(limiter: AccountLimiter, account: string, job: string) {
  const answer = await limiter.acquire({
    account: { id: account, ratePerSecond: 10 },
    jobId: job,
    parkedMember: `ship/${job}`,
    markerKey: `${t.prefix}:marker:${job}`,
    jobKey: `${t.prefix}:ship:${job}`,
  });
  if (answer.kind !== 'grant') throw new Error(`expected a grant, got ${answer.kind}`);
  return answer;
}

describe("a Redis further away than the tolerance's floor", () => {
  it('still grants calls that are sent, with a tolerance covering the round trip', async () => {
    const limiter = new AccountLimiter(far, t.prefix, { marginMs: 80 });
    try {
      await limiter.calibrate([{ id: 'far', ratePerSecond: 10 }]);
      expect(limiter.lateToleranceMs).toBeGreaterThan(2 * DELAY_MS);
      const answer = await grantOf(limiter, 'far', 'j1');
      // Sent right at its slot, a call's lateness is the clock spread alone (≥ the round trip, so more
      // than the tolerance's floor would allow): the allowance covers it, with the floor's 30 ms to
      // spare for the timer. (How late a timer fires is the machine's: a loaded one may use more, and
      // that call then takes another slot.)
      expect(answer.uncertaintyMs).toBeGreaterThan(30);
      // (To the µs: the gate carries the tolerance in whole µs.)
      expect(answer.allowedLateMs - answer.uncertaintyMs).toBeGreaterThanOrEqual(30 - 0.001);
    } finally {
      limiter.close();
    }
  });

  it('starts with a margin smaller than the tolerance: the window after each call pays for its lateness', async () => {
    const limiter = new AccountLimiter(far, t.prefix, { marginMs: 15 });
    try {
      await limiter.calibrate([{ id: 'small', ratePerSecond: 10 }]);
      expect(limiter.lateToleranceMs).toBeGreaterThan(15);
      const answer = await grantOf(limiter, 'small', 'j2');
      // Until the call reports, the gate counts it as arriving as late as allowed plus the margin.
      const entry = await t.redis.hget(limiterKeys.sent(t.prefix, 'small'), String(answer.number));
      const [slot, reach] = entry!.split('|').map(Number) as [number, number];
      expect(slot).toBe(answer.slotUs);
      expect(reach - slot).toBeGreaterThanOrEqual(Math.round(answer.allowedLateMs * 1000) + 15_000);
      // Reported as sent with the clock spread alone: the window narrows to that plus the margin (and
      // this calm process's lag, if any).
      await limiter.sent('small', answer, answer.uncertaintyMs);
      const reported = await t.redis.hget(limiterKeys.sent(t.prefix, 'small'), String(answer.number));
      const [, lowered] = reported!.split('|').map(Number) as [number, number];
      expect(lowered).toBeLessThan(reach);
      expect(lowered - slot).toBeGreaterThanOrEqual(Math.ceil(answer.uncertaintyMs * 1000) + 15_000);
    } finally {
      limiter.close();
    }
  });

  it('publishes the rate and margin of the process that calibrates', async () => {
    const limiter = new AccountLimiter(t.redis, t.prefix, { marginMs: 50 });
    try {
      await limiter.calibrate([{ id: 'pub', ratePerSecond: 4 }]);
      expect(await t.redis.hmget(`${t.prefix}:acct:pub`, 'rate', 'margin', 'spacing')).toEqual([
        '4',
        '50000',
        String(limiter.spacingUs(4)),
      ]);
    } finally {
      limiter.close();
    }
  });
});
