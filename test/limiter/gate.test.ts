import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATE_SCRIPT, LAG_MEMORY_US, RESUME_SCRIPT } from '../../src/limiter/gate-script.js';
import { limiterKeys } from '../../src/limiter/index.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';

// The gate script on its own, called as the limiter calls it: the slot arithmetic is checked on Redis
// itself, with the delay a caller reports given directly instead of measured.
let t: TestRedis;
beforeAll(async () => {
  t = await testRedis('gate');
});
afterAll(async () => {
  await t?.cleanup();
});

const MARGIN_US = 30_000;
const WINDOW_US = 1_000_000 + MARGIN_US;
const SPACING_US = WINDOW_US / 10;
const MAX_WAIT_US = 250_000;
const RATE = 10;

interface Reply {
  readonly kind: string;
  readonly slot: number;
  readonly now: number;
  readonly raw: string;
}

async function gate(
  account: string,
  job: string,
  options: { lagUs?: number; mark?: string; release?: string } = {},
): Promise<Reply> {
  const reply = (await t.redis.eval(
    GATE_SCRIPT,
    10,
    limiterKeys.account(t.prefix, account),
    limiterKeys.tickets(t.prefix, account),
    limiterKeys.parked(t.prefix, account),
    `${t.prefix}:marker:${job}`,
    `${t.prefix}:ship:${job}`,
    marks(account),
    `${t.prefix}:marker:${job}`,
    `${t.prefix}:call:${job}`,
    `${t.prefix}:ship:${job}:lock`,
    limiterKeys.log(t.prefix, account),
    job,
    RATE,
    MARGIN_US,
    MAX_WAIT_US,
    `ship/${job}`,
    options.lagUs ?? 0,
    options.mark ? job : '',
    options.mark ?? '',
    options.release ?? '',
    '',
    '',
    0,
  )) as [string, number | string, number | string];
  return { kind: reply[0], slot: Number(reply[1]), now: Number(reply[2]), raw: String(reply[1]) };
}

/** The hash a grant writes its in-flight mark to, per account here. */
const marks = (account: string) => `${t.prefix}:inflight:${account}`;

describe('gate', () => {
  it('never grants an 11th slot within the window of the 10 before it', async () => {
    const slots: number[] = [];
    for (let i = 0; slots.length < 25 && i < 400; i++) {
      const reply = await gate('bound', `b${i}`, { release: undefined });
      if (reply.kind === 'grant') slots.push(reply.slot);
      else await t.redis.hset(limiterKeys.tickets(t.prefix, 'bound'), `b${i}`, String(reply.now));
    }
    for (let i = 10; i < slots.length; i++)
      expect(slots[i]! - slots[i - 10]!).toBeGreaterThanOrEqual(WINDOW_US);
  });

  it('parks a job whose turn is beyond the wait bound, and serves it first when back, late or not', async () => {
    let parked: Reply | undefined;
    let job = '';
    for (let i = 0; !parked; i++) {
      const reply = await gate('turns', `c${i}`);
      if (reply.kind === 'park') {
        parked = reply;
        job = `c${i}`;
      }
    }
    const tickets = limiterKeys.tickets(t.prefix, 'turns');
    expect(await t.redis.hget(tickets, job)).toBe(parked.raw);
    // Back early: parked again on the same turn.
    expect(await gate('turns', job)).toMatchObject({ kind: 'park', slot: parked.slot });
    // Back a second late (its turn long past, the grants before it too): granted the earliest slot the
    // log allows, not queued again behind every job let in meanwhile.
    await t.redis.hset(tickets, job, String(parked.now - 1_000_000));
    await t.redis.del(limiterKeys.log(t.prefix, 'turns'));
    const reply = await gate('turns', job);
    expect(reply.kind).toBe('grant');
    expect(reply.slot - reply.now).toBeLessThanOrEqual(MAX_WAIT_US);
    expect(await t.redis.hexists(tickets, job)).toBe(0);
  });

  it('takes a slot given back out of the log', async () => {
    const first = await gate('release', 'r0');
    expect(first.kind).toBe('grant');
    const again = await gate('release', 'r0', { release: first.raw });
    expect(again.kind).toBe('grant');
    expect(await t.redis.lrange(limiterKeys.log(t.prefix, 'release'), 0, -1)).toEqual([again.raw]);
  });

  it("enforces the rate published in Redis over the caller's own", async () => {
    await t.redis.hset(limiterKeys.account(t.prefix, 'published'), 'rate', '2', 'margin', String(MARGIN_US));
    const first = await gate('published', 'p0');
    expect(first.kind).toBe('grant');
    // At 2/s the next turn is half a window later (the caller's own 10/s would grant it in 103 ms).
    const second = await gate('published', 'p1');
    expect(second).toMatchObject({ kind: 'park', slot: first.slot + Math.ceil(WINDOW_US / 2) });
  });

  it('widens the window by twice the worst delay reported lately', async () => {
    const a = await gate('lag', 'l0', { lagUs: 20_000 });
    const b = await gate('lag', 'l1');
    expect(b.slot - a.slot).toBe(Math.ceil((WINDOW_US + 40_000) / 10));
    expect(await t.redis.hget(limiterKeys.account(t.prefix, 'lag'), 'lag')).toBe('20000');
    expect(LAG_MEMORY_US).toBeGreaterThan(0);
    expect(SPACING_US).toBe(103_000);
  });

  it('gives a parked job priority 0 so that it comes back ahead of jobs not yet gated', async () => {
    for (let i = 0; i < 4; i++) await gate('prio', `p${i}`);
    const jobKey = `${t.prefix}:ship:p-late`;
    await t.redis.hset(jobKey, 'priority', '1');
    expect((await gate('prio', 'p-late')).kind).toBe('park');
    expect(await t.redis.hget(jobKey, 'priority')).toBe('0');
    await gate('prio', 'p-gone');
    expect(await t.redis.exists(`${t.prefix}:ship:p-gone`)).toBe(0);
  });

  it('calls nothing for a job whose done or dead marker exists', async () => {
    await t.redis.set(`${t.prefix}:marker:finished`, 'd|1|shipped|1');
    expect((await gate('marker', 'finished')).kind).toBe('marker');
    expect(await t.redis.exists(limiterKeys.log(t.prefix, 'marker'))).toBe(0);
  });

  it('writes the in-flight mark with a grant, and with nothing else', async () => {
    expect((await gate('marks', 'm0', { mark: 'mark-0' })).kind).toBe('grant');
    expect(await t.redis.hgetall(marks('marks'))).toEqual({ m0: 'mark-0' });
    let parked = false;
    for (let i = 1; !parked; i++) parked = (await gate('marks', `m${i}`)).kind === 'park';
    expect((await gate('marks', 'm-parked', { mark: 'mark-parked' })).kind).toBe('park');
    expect(await t.redis.hexists(marks('marks'), 'm-parked')).toBe(0);
    await t.redis.hset(limiterKeys.account(t.prefix, 'marks-held'), 'held', '1');
    expect((await gate('marks-held', 'm-held', { mark: 'mark-held' })).kind).toBe('held');
    expect(await t.redis.exists(marks('marks-held'))).toBe(0);
  });

  it('resume leaves an active account alone and keeps the schedule of a held one', async () => {
    const account = limiterKeys.account(t.prefix, 'resume');
    const log = limiterKeys.log(t.prefix, 'resume');
    for (let i = 0; i < 3; i++) await gate('resume', `q${i}`);
    const before = await t.redis.lrange(log, 0, -1);
    const turn = await t.redis.hget(account, 'turn');
    const parked = limiterKeys.parked(t.prefix, 'resume');
    expect(await t.redis.eval(RESUME_SCRIPT, 3, account, parked, `${t.prefix}:outbox`, 0, '{}')).toBeNull();
    await t.redis.hset(account, 'held', '1', 'reason', 'r');
    expect((await gate('resume', 'q-held')).kind).toBe('held');
    expect(await t.redis.eval(RESUME_SCRIPT, 3, account, parked, `${t.prefix}:outbox`, 0, '{}')).toEqual([
      'ship/q-held',
    ]);
    expect(await t.redis.lrange(log, 0, -1)).toEqual(before);
    expect(await t.redis.hget(account, 'turn')).toBe(turn);
    expect(await t.redis.hexists(account, 'held')).toBe(0);
  });
});
