import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limiterKeys } from '../../src/keys.js';
import { luaSource } from '../../src/runtime/lua.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';

// The gate script on its own, called as the limiter calls it: the slot arithmetic is checked on Redis
// itself, with the lag a caller reports, and how late a call left, given directly instead of measured.
let t: TestRedis;
beforeAll(async () => {
  t = await testRedis('gate');
});
afterAll(async () => {
  await t?.cleanup();
});

const MARGIN_US = 30_000;
const BASE_US = 103_000; // (1000 ms + a 30 ms margin) / 10, as the limiter computes it for that margin
const MAX_WAIT_US = 250_000;
const LATE_US = 10_000;
const WINDOW_US = 1_000_000;
/** The most lag a caller reports (MAX_LAG_MS in src/limiter/index.ts), µs. */
const MAX_LAG_US = 100_000;
/** How late the gate counts a call not yet reported: its allowance plus the most the way may take. */
const CAUTIOUS_US = LATE_US + MARGIN_US + 2 * MAX_LAG_US;

const RATE = 10;
const SCRIPTS = new URL('../../src/limiter/scripts/', import.meta.url);
const GATE_SCRIPT = luaSource(SCRIPTS, 'gate.lua');
const SENT_SCRIPT = luaSource(SCRIPTS, 'sent.lua');
const PUBLISH_SCRIPT = luaSource(SCRIPTS, 'publish.lua');

interface Reply {
  readonly kind: string;
  readonly slot: number;
  readonly now: number;
  /** On a grant: how late the call may leave, µs. */
  readonly allowed: number;
  /** On a grant: its number in the account's window log. */
  readonly number: number;
}

async function gate(
  account: string,
  job: string,
  mode: 'first' | 'again' = 'first',
  lagUs = 0,
  mark = '',
  maxWaitUs = MAX_WAIT_US,
  released: Reply | undefined = undefined,
): Promise<Reply> {
  const reply = (await t.redis.eval(
    GATE_SCRIPT,
    10,
    limiterKeys.account(t.prefix, account),
    limiterKeys.line(t.prefix, account),
    limiterKeys.parked(t.prefix, account),
    `${t.prefix}:marker:${job}`,
    `${t.prefix}:ship:${job}`,
    marks(account),
    `${t.prefix}:marker:${job}`,
    `${t.prefix}:call:${job}`,
    `${t.prefix}:ship:${job}:lock`,
    limiterKeys.sent(t.prefix, account),
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
    released ? `${released.number}|${released.slot}` : '',
    MARGIN_US,
    MAX_LAG_US,
  )) as [string, number | string, number | string, (number | string)?, (number | string)?];
  return {
    kind: reply[0],
    slot: Number(reply[1]),
    now: Number(reply[2]),
    allowed: Number(reply[3]),
    number: Number(reply[4]),
  };
}

/**
 * A granted call passed its last check `lateUs` late, its process lagging `lagUs` then (as the
 * processor reports it: the tail is the margin plus twice that lag).
 */
async function sent(
  account: string,
  granted: Pick<Reply, 'number' | 'slot'>,
  lateUs: number,
  lagUs = 0,
): Promise<number> {
  const key = limiterKeys.sent(t.prefix, account);
  const tail = MARGIN_US + 2 * lagUs;
  return (await t.redis.eval(SENT_SCRIPT, 1, key, granted.number, granted.slot, lateUs, tail)) as number;
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
  const slots = (await grants(account, lags)).map((reply) => reply.slot);
  return slots.slice(1).map((slot, i) => slot - slots[i]!);
}

/** The grants of new jobs asking one after another, each with its caller's lag (waiting unbounded). */
async function grants(account: string, lags: readonly number[]): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (const lag of lags) replies.push(await grant(account, lag));
  return replies;
}

async function grant(account: string, lagUs = 0, released?: Reply): Promise<Reply> {
  const reply = await gate(account, `${account}-${asked++}`, 'first', lagUs, '', 3_600_000_000, released);
  expect(reply.kind).toBe('grant');
  return reply;
}

/**
 * The most calls that could arrive within one sliding second, each anywhere in its own
 * [earliest, latest] (µs): the most intervals that meet one window [t, t + WINDOW_US), t at a latest.
 */
function mostInASecond(calls: ReadonlyArray<readonly [number, number]>): number {
  let most = 0;
  for (const [, t] of calls) {
    const met = calls.filter(([earliest, latest]) => earliest < t + WINDOW_US && latest >= t).length;
    most = Math.max(most, met);
  }
  return most;
}

/** A small deterministic generator (the property below is checked on a fixed, varied sequence). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
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

  it("lets a call be late by the tolerance plus its own process's lag", async () => {
    expect(await gate('paid', 'calm')).toMatchObject({ kind: 'grant', allowed: LATE_US });
    expect(await gate('paid-lag', 'lagging', 'first', 12_000)).toMatchObject({
      kind: 'grant',
      allowed: LATE_US + 12_000,
    });
  });

  it('counts a call not yet reported as late as it may be: the grant `rate` later is a second after that', async () => {
    // Ten slots at the spacing; the eleventh waits for the latest the first may arrive: its slot plus
    // the tolerance, the margin, and twice the most lag a process reports (the way to the upstream).
    const slots = (await grants('unreported', Array(RATE + 2).fill(0))).map((reply) => reply.slot);
    expect(slots[RATE]! - slots[0]!).toBe(WINDOW_US + CAUTIOUS_US);
    // The twelfth: the second's window is met by the spacing after the eleventh.
    expect(slots[RATE + 1]! - slots[RATE]!).toBe(BASE_US);
  });

  it('narrows the window after a call to how late it actually left, once it reports', async () => {
    const first = await grant('reported');
    await grants('reported', Array(RATE - 1).fill(0));
    expect(await sent('reported', first, 2_000)).toBe(1);
    const eleventh = await grant('reported');
    expect(eleventh.slot - first.slot).toBe(WINDOW_US + 2_000 + MARGIN_US);
  });

  it('widens the window after a call whose process began to lag after its grant', async () => {
    // Granted while calm (a second ahead), checked once its process lags 20 ms: the way to the
    // upstream may take that much longer, twice, and the window after it says so.
    const first = await grant('began-to-lag');
    await grants('began-to-lag', Array(RATE - 1).fill(0));
    expect(await sent('began-to-lag', first, 2_000, 20_000)).toBe(1);
    const eleventh = await grant('began-to-lag');
    expect(eleventh.slot - first.slot).toBe(WINDOW_US + 2_000 + MARGIN_US + 2 * 20_000);
  });

  it('never raises an entry by a report: the cautious reach bounds every report a passed check makes', async () => {
    const first = await grant('no-raise');
    const entry = await t.redis.hget(limiterKeys.sent(t.prefix, 'no-raise'), String(first.number));
    expect(await sent('no-raise', first, first.allowed + 1_000, MAX_LAG_US + 1_000)).toBe(0);
    expect(await t.redis.hget(limiterKeys.sent(t.prefix, 'no-raise'), String(first.number))).toBe(entry);
  });

  it('keeps nothing of a grant released unsent: it constrains no window, and a report finds nothing', async () => {
    const first = await grant('released');
    await grants('released', Array(RATE - 2).fill(0));
    // The job of the first grant never sent its call: its next gate call releases that grant.
    const tenth = await grant('released', 0, first);
    expect(await sent('released', first, 0)).toBe(0);
    const eleventh = await grant('released');
    expect(eleventh.slot - tenth.slot).toBe(BASE_US);
  });

  it('takes a release or a report only for the grant it names by number and slot', async () => {
    // As if Redis had lost its last writes and issued the number again to another job's grant.
    const granted = await grant('identity');
    const other = { number: granted.number, slot: granted.slot - 1 };
    expect(await sent('identity', other, 0)).toBe(0);
    await grant('identity', 0, { ...granted, slot: granted.slot - 1 });
    const key = limiterKeys.sent(t.prefix, 'identity');
    expect(await t.redis.hexists(key, String(granted.number))).toBe(1);
    expect(await sent('identity', granted, 0)).toBe(1);
  });

  it("widens the window after a lagging caller's call only, however calm the callers before and after", async () => {
    // The first caller lags 20 ms and leaves as late as it may: its call may also take 40 ms longer
    // on the way. The call `rate` later pays for both; the one after it only for the spacing.
    const first = await grant('one-lag', 20_000);
    const calm = await grants('one-lag', Array(RATE - 1).fill(0));
    expect(await sent('one-lag', first, first.allowed, 20_000)).toBe(1);
    for (const reply of calm) await sent('one-lag', reply, 0);
    const [eleventh, twelfth] = await grants('one-lag', [0, 0]);
    expect(eleventh!.slot - first.slot).toBe(WINDOW_US + LATE_US + 20_000 + MARGIN_US + 2 * 20_000);
    expect(twelfth!.slot - eleventh!.slot).toBe(BASE_US);
  });

  it('keeps the last `rate` grants in its window log, and forgets it a minute after the last slot', async () => {
    await grants('log', Array(RATE + 5).fill(0));
    const key = limiterKeys.sent(t.prefix, 'log');
    expect(await t.redis.hlen(key)).toBe(RATE);
    expect(await t.redis.pttl(key)).toBeGreaterThan(59_000);
  });

  it('forgets, when the rate is lowered, the entries no grant will look back to', async () => {
    const account = limiterKeys.account(t.prefix, 'lowered');
    const key = limiterKeys.sent(t.prefix, 'lowered');
    const publish = (rate: number) =>
      t.redis.eval(
        PUBLISH_SCRIPT,
        2,
        account,
        key,
        rate,
        Math.ceil(1_030_000 / rate),
        MARGIN_US,
        MAX_WAIT_US,
      );
    await publish(RATE);
    await grants('lowered', Array(RATE).fill(0));
    await publish(4);
    expect((await t.redis.hkeys(key)).map(Number).sort((a, b) => a - b)).toEqual([7, 8, 9, 10]);
  });

  it('never lets `rate` + 1 calls arrive within a second, however late each leaves within its allowance', async () => {
    // A property of the window log, on a fixed varied sequence: every caller with some lag; each call
    // leaving as late as it may (every other call) or on time; its process lagging more or less when
    // it leaves than at its grant; its report landing at once, or only after the grants that look
    // back to it, or never; some calls never sent (and released). Each arrives after the margin and
    // twice its process's lag when it left, on the way: the worst the tail allows.
    const next = random(12_345);
    const calls: Array<[number, number]> = [];
    const pending: Array<{ due: number; report: () => Promise<number> }> = [];
    let released: Reply | undefined;
    for (let i = 0; i < 400; i++) {
      for (const report of pending.filter((late) => late.due === i)) await report.report();
      const lag = Math.floor(next() * 25_000);
      const reply = await grant('property', lag, released);
      released = undefined;
      const fate = next();
      if (fate < 0.1) {
        released = reply;
        continue;
      }
      const late = i % 2 === 0 ? reply.allowed : Math.floor(next() * reply.allowed);
      const lagWhenSent = Math.floor(next() * 40_000);
      if (fate < 0.7) await sent('property', reply, late, lagWhenSent);
      else if (fate < 0.85)
        pending.push({ due: i + RATE + 2, report: () => sent('property', reply, late, lagWhenSent) });
      calls.push([reply.slot, reply.slot + late + MARGIN_US + 2 * lagWhenSent]);
    }
    expect(calls.length).toBeGreaterThan(300);
    expect(mostInASecond(calls)).toBeLessThanOrEqual(RATE);
  });

  it('estimates turns in line at the spacing, not at what lateness may add to the windows', async () => {
    const now = await redisNow();
    await line('turns', { t1: now + 5_000_000, t2: now + 5_100_000 });
    // A new job behind two in line, asked by a lagging caller: its turn is two plain spacings on.
    const parked = await gate('turns', 't3', 'first', 30_000);
    expect(parked.kind).toBe('park');
    expect(parked.slot).toBe(parked.now + 2 * BASE_US);
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
