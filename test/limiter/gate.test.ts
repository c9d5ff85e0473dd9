import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limiterKeys } from '../../src/keys.js';
import { luaSource } from '../../src/runtime/lua.js';
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
/** How long a reported lag keeps spacing an account's slots (LAG_MEMORY in gate.lua), µs. */
const LAG_MEMORY_US = 2_000_000;
const GATE_SCRIPT = luaSource(new URL('../../src/limiter/scripts/', import.meta.url), 'gate.lua');

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
  mode: 'first' | 'again' = 'first',
  lagUs = 0,
  mark = '',
  maxWaitUs = MAX_WAIT_US,
): Promise<Reply> {
  const reply = (await t.redis.eval(
    GATE_SCRIPT,
    9,
    limiterKeys.account(t.prefix, account),
    limiterKeys.line(t.prefix, account),
    limiterKeys.parked(t.prefix, account),
    `${t.prefix}:marker:${job}`,
    `${t.prefix}:ship:${job}`,
    marks(account),
    `${t.prefix}:marker:${job}`,
    `${t.prefix}:call:${job}`,
    `${t.prefix}:ship:${job}:lock`,
    job,
    BASE_US,
    maxWaitUs,
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

async function redisNow(): Promise<number> {
  const [seconds, micros] = await t.redis.time();
  return Number(seconds) * 1_000_000 + Number(micros);
}

/** Jobs in an account's line, with their turns (as parking writes them). */
async function line(account: string, turns: Record<string, number>): Promise<void> {
  for (const [job, turn] of Object.entries(turns))
    await t.redis.zadd(limiterKeys.line(t.prefix, account), turn, job);
}

/** The hash a grant writes its in-flight mark to, per account here. */
const marks = (account: string) => `${t.prefix}:inflight:${account}`;

let asked = 0;
/**
 * The gaps between the slots granted to new jobs asking one after another, each with its caller's
 * lag. Waiting is unbounded here, so that every ask is granted, however far ahead its slot.
 */
async function gaps(account: string, lags: readonly number[]): Promise<number[]> {
  const slots: number[] = [];
  for (const lag of lags) {
    const reply = await gate(account, `${account}-${asked++}`, 'first', lag, '', 3_600_000_000);
    expect(reply.kind).toBe('grant');
    slots.push(reply.slot);
  }
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

  it('parks a job that cannot have a near slot in line, and grants it the next slot once back', async () => {
    let parked: Reply | undefined;
    for (let i = 0; !parked; i++) {
      const reply = await gate('claim', `c${i}`);
      if (reply.kind === 'park') parked = { ...reply, kind: `c${i}` };
    }
    const job = parked.kind;
    const line = limiterKeys.line(t.prefix, 'claim');
    expect(await t.redis.zrange(line, '0', '-1', 'WITHSCORES')).toEqual([job, String(parked.slot)]);
    // Back early (its slot still beyond the wait bound): parked again for the same turn.
    expect(await gate('claim', job)).toMatchObject({ kind: 'park', slot: parked.slot });
    // Back when the next slot is near: granted, and out of the line.
    const now = await redisNow();
    await t.redis.hset(limiterKeys.account(t.prefix, 'claim'), 'tat', String(now + 100_000));
    expect(await gate('claim', job)).toMatchObject({ kind: 'grant', slot: now + 100_000, allowed: LATE_US });
    expect(await t.redis.exists(line)).toBe(0);
  });

  it('grants a job back late the next slot, not a place at the end of the line', async () => {
    const now = await redisNow();
    await line('late', { late: now - 5_000_000, b: now + 2_000_000, c: now + 3_000_000 });
    expect(await gate('late', 'late')).toMatchObject({ kind: 'grant' });
    // A new job waits behind everyone in line, even with the next slot free.
    const fresh = await gate('late', 'new');
    expect(fresh.kind).toBe('park');
    expect(fresh.slot - fresh.now).toBeGreaterThanOrEqual(2 * BASE_US);
  });

  it('parks a job back with others ahead of it after them, and one ahead of all at the next slot', async () => {
    const now = await redisNow();
    await t.redis.hset(limiterKeys.account(t.prefix, 'ahead'), 'tat', String(now + 2_000_000));
    await line('ahead', { a: now - 1_000_000, b: now - 900_000, c: now - 800_000 });
    const c = await gate('ahead', 'c');
    expect(c).toMatchObject({ kind: 'park' });
    expect(c.slot).toBeGreaterThanOrEqual(now + 2_000_000 + 2 * BASE_US);
    const a = await gate('ahead', 'a');
    expect(a.kind).toBe('park');
    expect(a.slot).toBeGreaterThanOrEqual(now + 2_000_000);
    expect(a.slot).toBeLessThan(now + 2_000_000 + BASE_US);
  });

  it('forgets a place a minute past its turn: the job comes back as new', async () => {
    const now = await redisNow();
    await line('forget-line', { gone: now - 61_000_000, here: now + 5_000_000 });
    await gate('forget-line', 'other');
    expect((await t.redis.zrange(limiterKeys.line(t.prefix, 'forget-line'), '0', '-1')).sort()).toEqual([
      'here',
      'other',
    ]);
  });

  it('puts a job that reached its grant too late first: the next slot if near, else just that', async () => {
    const granted = await gate('again', 'missed', 'again');
    expect(granted.kind).toBe('grant');
    const now = await redisNow();
    await t.redis.hset(limiterKeys.account(t.prefix, 'again'), 'tat', String(now + 2_000_000));
    expect(await gate('again', 'missed-2', 'again')).toMatchObject({ kind: 'park', slot: now + 2_000_000 });
  });

  it("spaces by the account's published spacing, whatever the caller's own", async () => {
    await t.redis.hset(limiterKeys.account(t.prefix, 'published'), 'spacing', String(2 * BASE_US));
    expect(await gaps('published', [0, 0, 0])).toEqual([2 * BASE_US, 2 * BASE_US]);
  });

  it("lets a call be late by the tolerance plus its own process's lag, which the spacing pays for", async () => {
    expect(await gate('paid', 'calm')).toMatchObject({ kind: 'grant', allowed: LATE_US });
    expect(await gate('paid-lag', 'lagging', 'first', 12_000)).toMatchObject({
      kind: 'grant',
      allowed: LATE_US + 12_000,
    });
    // A calm caller after a laggy one: its slot is spaced for the lag, its own allowance is the tolerance.
    expect(await gaps('paid-mixed', [12_000, 0])).toEqual([BASE_US + (2 * 12_000) / RATE]);
    expect(await gate('paid-mixed', 'calm-2')).toMatchObject({ allowed: LATE_US });
  });

  it('spaces every caller for the worst lag any caller reported lately, not for its own', async () => {
    // One laggy process (20 ms) among calm ones: the calm callers' slots are spaced for 20 ms too,
    // since the laggy one may leave that late inside any window they share.
    const lagged = BASE_US + (2 * 20_000) / RATE;
    expect(await gaps('mixed', [20_000, 0, 0, 5_000, 0])).toEqual([lagged, lagged, lagged, lagged]);
  });

  it("widens every slot within its memory after a lagging caller's slot, however calm the later callers", async () => {
    const lagging = await gate('forget', 'f0', 'first', 30_000);
    const lagged = BASE_US + (2 * 30_000) / RATE;
    expect(await gaps('forget', [0, 0, 0])).toEqual([lagged, lagged]);
    // As if those slots were long past: the next slot is more than the memory after the report.
    const key = limiterKeys.account(t.prefix, 'forget');
    await t.redis.hset(key, 'tat', String(lagging.slot + LAG_MEMORY_US + 250_000));
    expect(await gaps('forget', [0, 0, 0])).toEqual([BASE_US, BASE_US]);
  });

  it('forgets a worst lag after its memory even while calmer callers keep reporting theirs', async () => {
    const worst = await gate('worst', 'w0', 'first', 30_000);
    const key = limiterKeys.account(t.prefix, 'worst');
    await t.redis.hset(key, 'tat', String(worst.slot + LAG_MEMORY_US + 250_000));
    const calm = BASE_US + (2 * 5_000) / RATE;
    expect(await gaps('worst', [5_000, 5_000, 5_000])).toEqual([calm, calm]);
  });

  it('estimates turns in line at the spacing without lag, so that lag gone by then leaves no slot unused', async () => {
    const now = await redisNow();
    await line('turns', { t1: now + 5_000_000, t2: now + 5_100_000 });
    // A new job behind two in line, asked by a lagging caller: its turn is two plain spacings on.
    const parked = await gate('turns', 't3', 'first', 30_000);
    expect(parked.kind).toBe('park');
    expect(parked.slot).toBe(parked.now + 2 * BASE_US);
  });

  it('writes no lag for calm callers', async () => {
    await gaps('quiet', [0, 0]);
    const fields = Object.keys(await t.redis.hgetall(limiterKeys.account(t.prefix, 'quiet')));
    expect(fields.filter((field) => field.startsWith('lag'))).toEqual([]);
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
    const granted = await gate('marks', 'm0', 'first', 0, 'mark-0');
    expect(granted.kind).toBe('grant');
    expect(await t.redis.hgetall(marks('marks'))).toEqual({ m0: 'mark-0' });
    // Two more slots fit in the 250 ms a caller may wait; the next job parks, and parking writes no mark.
    for (let i = 1; i <= 2; i++) await gate('marks', `m${i}`, 'first', 0, `mark-${i}`);
    const parked = await gate('marks', 'm-parked', 'first', 0, 'mark-parked');
    expect(parked.kind).toBe('park');
    expect(await t.redis.hexists(marks('marks'), 'm-parked')).toBe(0);
    // A finished job's marker and a held account end the call before any mark.
    await t.redis.set(`${t.prefix}:marker:m-done`, 'd|1|shipped|1');
    expect((await gate('marks', 'm-done', 'first', 0, 'mark-done')).kind).toBe('marker');
    await t.redis.hset(limiterKeys.account(t.prefix, 'marks-held'), 'held', '1');
    expect((await gate('marks-held', 'm-held', 'first', 0, 'mark-held')).kind).toBe('held');
    expect(await t.redis.exists(marks('marks-held'))).toBe(0);
    expect(await t.redis.hgetall(marks('marks'))).toEqual({ m0: 'mark-0', m1: 'mark-1', m2: 'mark-2' });
    // A caller that asks for no mark gets none.
    await gate('marks-none', 'n0');
    expect(await t.redis.exists(marks('marks-none'))).toBe(0);
  });
});
