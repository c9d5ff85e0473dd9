import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATE_SCRIPT, LAG_MEMORY_US } from '../../src/limiter/gate-script.js';
import { limiterKeys } from '../../src/limiter/index.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';

// The gate script on its own, called as the limiter calls it: the slot arithmetic is checked on Redis
// itself, with the lag a caller reports given directly instead of measured.
let t: TestRedis;
beforeAll(async () => {
  t = await testRedis('gate');
});
afterAll(async () => {
  await t?.cleanup();
});

const BASE_US = 103_000; // (1000 ms + a 30 ms margin) / 10, as the limiter computes it for that margin
const MAX_WAIT_US = 250_000;
const LATE_US = 10_000;

const RATE = 10;

interface Reply {
  readonly kind: string;
  readonly slot: number;
  readonly now: number;
  /** On a grant: how late the call may leave, µs. */
  readonly allowed: number;
}

async function gate(
  account: string,
  job: string,
  mode: 'claim' | 'fresh' = 'claim',
  lagUs = 0,
  mark = '',
): Promise<Reply> {
  const reply = (await t.redis.eval(
    GATE_SCRIPT,
    9,
    limiterKeys.account(t.prefix, account),
    limiterKeys.reservations(t.prefix, account),
    limiterKeys.parked(t.prefix, account),
    `${t.prefix}:marker:${job}`,
    `${t.prefix}:ship:${job}`,
    marks(account),
    `${t.prefix}:marker:${job}`,
    `${t.prefix}:call:${job}`,
    `${t.prefix}:ship:${job}:lock`,
    job,
    BASE_US,
    MAX_WAIT_US,
    LATE_US,
    `ship/${job}`,
    mode,
    lagUs,
    RATE,
    mark === '' ? '' : job,
    mark,
    '',
    '',
    0,
  )) as [string, number | string, number | string, (number | string)?];
  return { kind: reply[0], slot: Number(reply[1]), now: Number(reply[2]), allowed: Number(reply[3]) };
}

/** The hash a grant writes its in-flight mark to, per account here. */
const marks = (account: string) => `${t.prefix}:inflight:${account}`;

async function gaps(account: string, lags: readonly number[]): Promise<number[]> {
  const slots: number[] = [];
  for (const [i, lag] of lags.entries())
    slots.push((await gate(account, `${account}-${i}`, 'fresh', lag)).slot);
  return slots.slice(1).map((slot, i) => slot - slots[i]!);
}

describe('gate', () => {
  it('spaces consecutive slots by (1000 ms + margin) / rate', async () => {
    const replies: Reply[] = [];
    for (let i = 0; i < 12; i++) replies.push(await gate('spacing', `s${i}`));
    const slots = replies.map((reply) => reply.slot);
    expect(slots.slice(1).map((slot, i) => slot - slots[i]!)).toEqual(Array(11).fill(BASE_US));
    // Slots within the wait bound are granted; later ones are reserved for their job and parked.
    for (const reply of replies) {
      expect(reply.kind).toBe(reply.slot - reply.now <= MAX_WAIT_US ? 'grant' : 'park');
    }
    expect(replies.at(-1)!.kind).toBe('park');
  });

  it('gives a parked job its reserved slot when it comes back, once', async () => {
    let parked: Reply | undefined;
    for (let i = 0; !parked; i++) {
      const reply = await gate('claim', `c${i}`);
      if (reply.kind === 'park') parked = { ...reply, kind: `c${i}` };
    }
    const job = parked.kind;
    const reservations = limiterKeys.reservations(t.prefix, 'claim');
    expect(await t.redis.hget(reservations, job)).toBe(String(parked.slot));
    // Back early (still beyond the wait bound): parked again on the same slot.
    expect(await gate('claim', job)).toMatchObject({ kind: 'park', slot: parked.slot });
    // Back in time: as if the slot were 100 ms away, it is granted and the reservation is spent.
    await t.redis.hset(reservations, job, String(parked.now + 100_000));
    expect(await gate('claim', job)).toMatchObject({
      kind: 'grant',
      slot: parked.now + 100_000,
      allowed: LATE_US,
    });
    expect(await t.redis.hexists(reservations, job)).toBe(0);
  });

  it('takes a new slot at the end for a job that came back after its slot had passed', async () => {
    for (let i = 0; i < 5; i++) await gate('lost', `l${i}`);
    const reservations = limiterKeys.reservations(t.prefix, 'lost');
    const account = limiterKeys.account(t.prefix, 'lost');
    const tat = Number(await t.redis.hget(account, 'tat'));
    // A reservation whose slot passed a second ago: too late to use without crowding the upstream.
    const { now } = await gate('lost', 'probe-time', 'fresh');
    await t.redis.hset(reservations, 'late-job', String(now - 1_000_000));
    const reply = await gate('lost', 'late-job');
    expect(reply.slot).toBeGreaterThanOrEqual(tat + BASE_US);
    expect(reply.kind).toBe('park');
  });

  it('lets every call be late by the tolerance only, however much its process lags', async () => {
    const reservations = limiterKeys.reservations(t.prefix, 'paid');
    const { now } = await gate('paid', 'probe-time', 'fresh');
    await t.redis.hset(reservations, 'busy', String(now + 100_000));
    expect(await gate('paid', 'busy', 'claim', 30_000)).toMatchObject({ kind: 'grant', allowed: LATE_US });
    const fresh = await gate('paid-fresh', 'f', 'fresh', 12_000);
    expect(fresh).toMatchObject({ kind: 'grant', allowed: LATE_US });
  });

  it('spaces every caller for the worst lag any caller reported lately, not for its own', async () => {
    // One laggy process (20 ms) among calm ones: the calm callers' slots are spaced for 20 ms too,
    // since the laggy one may leave that late inside any window they share.
    const lagged = BASE_US + (2 * 20_000) / RATE;
    expect(await gaps('mixed', [20_000, 0, 0, 5_000, 0])).toEqual([lagged, lagged, lagged, lagged]);
  });

  it('forgets a lag older than its memory', async () => {
    await gate('forget', 'f0', 'fresh', 30_000);
    const key = limiterKeys.account(t.prefix, 'forget');
    expect(await t.redis.hget(key, 'lag')).toBe('30000');
    const lagAt = Number(await t.redis.hget(key, 'lagAt'));
    await t.redis.hset(key, 'lagAt', String(lagAt - LAG_MEMORY_US - 1)); // as if reported that long ago
    expect(await gaps('forget', [0, 0, 0])).toEqual([BASE_US, BASE_US]);
  });

  it('writes no lag for calm callers', async () => {
    await gaps('quiet', [0, 0]);
    expect(await t.redis.hmget(limiterKeys.account(t.prefix, 'quiet'), 'lag', 'lagAt')).toEqual([null, null]);
  });

  it('gives a parked job priority 0 so that it comes back ahead of jobs not yet gated', async () => {
    for (let i = 0; i < 4; i++) await gate('prio', `p${i}`);
    const jobKey = `${t.prefix}:ship:p-late`;
    await t.redis.hset(jobKey, 'priority', '1');
    expect((await gate('prio', 'p-late')).kind).toBe('park');
    expect(await t.redis.hget(jobKey, 'priority')).toBe('0');
    // A job whose hash is gone (removed meanwhile) is not recreated.
    await gate('prio', 'p-gone');
    expect(await t.redis.exists(`${t.prefix}:ship:p-gone`)).toBe(0);
  });

  it('calls nothing for a job whose done or dead marker exists', async () => {
    await t.redis.set(`${t.prefix}:marker:finished`, 'd|1|shipped|1');
    expect((await gate('marker', 'finished')).kind).toBe('marker');
    expect(await t.redis.hget(limiterKeys.account(t.prefix, 'marker'), 'tat')).toBeNull();
  });

  it('writes the in-flight mark with a grant, and with nothing else', async () => {
    const granted = await gate('marks', 'm0', 'claim', 0, 'mark-0');
    expect(granted.kind).toBe('grant');
    expect(await t.redis.hgetall(marks('marks'))).toEqual({ m0: 'mark-0' });
    // Two more slots fit in the 250 ms a caller may wait; the next job parks, and parking writes no mark.
    for (let i = 1; i <= 2; i++) await gate('marks', `m${i}`, 'claim', 0, `mark-${i}`);
    const parked = await gate('marks', 'm-parked', 'claim', 0, 'mark-parked');
    expect(parked.kind).toBe('park');
    expect(await t.redis.hexists(marks('marks'), 'm-parked')).toBe(0);
    // A finished job's marker and a held account end the call before any mark.
    await t.redis.set(`${t.prefix}:marker:m-done`, 'd|1|shipped|1');
    expect((await gate('marks', 'm-done', 'claim', 0, 'mark-done')).kind).toBe('marker');
    await t.redis.hset(limiterKeys.account(t.prefix, 'marks-held'), 'held', '1');
    expect((await gate('marks-held', 'm-held', 'claim', 0, 'mark-held')).kind).toBe('held');
    expect(await t.redis.exists(marks('marks-held'))).toBe(0);
    expect(await t.redis.hgetall(marks('marks'))).toEqual({ m0: 'mark-0', m1: 'mark-1', m2: 'mark-2' });
    // A caller that asks for no mark gets none.
    await gate('marks-none', 'n0');
    expect(await t.redis.exists(marks('marks-none'))).toBe(0);
  });
});
