import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { AccountLimiter, type GateRequest } from '../../src/limiter/index.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';

// The gate's ownership answers, on Redis itself: a caller without the job's lock gets no slot, and a
// call whose live-call key has not reached its deadline keeps every other call of the shipment out.
let t: TestRedis;
let limiter: AccountLimiter;
beforeAll(async () => {
  t = await testRedis('ownership');
  limiter = new AccountLimiter(t.redis, t.prefix, { marginMs: 30 });
});
afterAll(async () => {
  limiter?.close();
  await t?.cleanup();
});

const account = { id: 'own', ratePerSecond: 10 };

function request(job: string, callId: string, extra: Partial<GateRequest> = {}): GateRequest {
  return {
    account,
    jobId: job,
    parkedMember: `ship/${job}`,
    markerKey: `${t.prefix}:marker:${job}`,
    jobKey: `${t.prefix}:ship:${job}`,
    again: true,
    call: { liveKey: `${t.prefix}:call:${job}`, id: callId, overAfterMs: 60_000 },
    ...extra,
  };
}

describe('the gate and the job lock', () => {
  it('answers lost, and grants nothing, when the lock holds another token or none', async () => {
    const lockKey = `${t.prefix}:ship:j1:lock`;
    await t.redis.set(lockKey, 'theirs');
    expect(await limiter.acquire(request('j1', 'j1#1', { lock: { key: lockKey, token: 'mine' } }))).toEqual({
      kind: 'lost',
    });
    await t.redis.del(lockKey);
    expect(await limiter.acquire(request('j1', 'j1#1', { lock: { key: lockKey, token: 'mine' } }))).toEqual({
      kind: 'lost',
    });
    expect(await t.redis.exists(`${t.prefix}:call:j1`)).toBe(0);
    await t.redis.set(lockKey, 'mine');
    const answer = await limiter.acquire(request('j1', 'j1#1', { lock: { key: lockKey, token: 'mine' } }));
    expect(answer.kind === 'grant' || answer.kind === 'park').toBe(true);
  });
});

describe('the live-call key', () => {
  it('keeps a second call of the shipment out until the first is surely over, then says stale', async () => {
    const first = await limiter.acquire(request('j2', 'j2#1'));
    expect(first.kind).toBe('grant');
    expect(await t.redis.get(`${t.prefix}:call:j2`)).toMatch(/^j2#1\|\d+$/);
    // The same run asking again (a missed slot) is not kept out by its own call.
    expect((await limiter.acquire(request('j2', 'j2#1'))).kind).not.toBe('busy');
    const live = await t.redis.get(`${t.prefix}:call:j2`);
    const busy = await limiter.acquire(request('j2', 'j2#2'));
    expect(busy).toEqual({ kind: 'busy', deadline: Number(live!.split('|')[1]) });
    // Past its deadline the call is over: the next run is told which call to record as unknown.
    await t.redis.set(`${t.prefix}:call:j2`, `j2#1|${Date.now() - 1}`);
    expect(await limiter.acquire(request('j2', 'j2#2'))).toEqual({ kind: 'stale', callId: 'j2#1' });
  });
});

describe('LOCK_DURATION_MS', () => {
  it('must exceed UPSTREAM_TIMEOUT_MS with room, or start-up stops with a line naming it', () => {
    const accounts = JSON.stringify([{ id: 'a1', provider: 'vvtool', token: 'very-secret-token-value-123' }]);
    const load = (env: Record<string, string>) =>
      loadConfig({ FULFILLMENT_ACCOUNTS: accounts, ...env }, { accounts: true });
    expect(() => load({ UPSTREAM_TIMEOUT_MS: '10000', LOCK_DURATION_MS: '10500' })).toThrow(ConfigError);
    expect(() => load({ UPSTREAM_TIMEOUT_MS: '10000', LOCK_DURATION_MS: '10500' })).toThrow(
      /^LOCK_DURATION_MS/,
    );
    expect(load({ UPSTREAM_TIMEOUT_MS: '10000', LOCK_DURATION_MS: '11000' }).lockDurationMs).toBe(11_000);
    expect(() => load({ UPSTREAM_TIMEOUT_MS: '40000' })).toThrow(/LOCK_DURATION_MS/);
  });
});
