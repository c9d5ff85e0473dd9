import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { Fulfillment } from '../../src/queues/service.js';
import { maxInSlidingWindow } from '../../src/sandbox/index.js';
import { aggregateRateAfterFirstSecond } from '../../support/arrivals.js';
import { describeWorstWindow } from '../helpers/invariants.js';
import { testAccount, vvtoolShip } from '../helpers/pipeline.js';
import { type Child, spawnNode } from '../helpers/processes.js';
import { deleteByPrefix, type TestRedis, testRedis } from '../helpers/redis.js';
import { startSandboxProcess } from '../helpers/sandbox-process.js';
import { until } from '../helpers/wait.js';

// The limit is a property of arrivals at the upstream: the sandbox (its own process) stamps each
// request as it arrives, and no sliding 1000 ms window may hold more than the account's rate, with
// three worker processes sharing the account.
const a = testAccount('rateA', 'vvtool');
const b = testAccount('rateB', 'vvtool');
/** Twenty more accounts, each with a backlog at once: many lines and slots side by side. */
const many = Array.from({ length: 20 }, (_, i) => testAccount(`rateM${i}`, 'vvtool'));
let base: TestRedis;
let service: Fulfillment;
let upstream: Awaited<ReturnType<typeof startSandboxProcess>>;
const workers: Child[] = [];

beforeAll(async () => {
  base = await testRedis('ratelimit');
  const accounts = JSON.stringify([a, b, ...many]);
  upstream = await startSandboxProcess({ FULFILLMENT_ACCOUNTS: accounts });
  const env = {
    REDIS_URL: base.url,
    FULFILLMENT_PREFIX: base.prefix,
    FULFILLMENT_ACCOUNTS: accounts,
    VVTOOL_BASE_URL: upstream.url,
    DAMAIJIA_BASE_URL: upstream.url,
    WORKER_CONCURRENCY: '20',
    LOG_LEVEL: 'warn',
  };
  service = new Fulfillment(loadConfig(env, { accounts: true }), base.redis);
  for (let i = 0; i < 3; i++) workers.push(spawnNode('workers/ship.ts', env));
  await until(
    '3 worker processes',
    async () => (await service.queues.ship.getWorkersCount()) >= 3 || undefined,
    {
      timeoutMs: 30_000,
    },
  );
});
afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  await upstream?.child.stop();
  await service?.close();
  await deleteByPrefix(base.redis, base.prefix);
  await base?.cleanup();
});

/**
 * The widest the gate spaces one account's slots at 10/s on average: (1000 + the default 15 ms
 * margin) / 10, plus what its window log adds per window of 10 at worst: a call's lateness (the 10 ms
 * tolerance) and twice the most lag a process reports (100 ms). A loaded machine lags, and the gate
 * then spaces slots wider so that late calls still keep the bound: that much is the machine's. What
 * is the design's is whether the slots it gives are used.
 */
const WIDEST_SPACING_MS = 101.5 + (10 + 2 * 100) / 10;

/** The median gap between consecutive arrivals, from one second after the first of them. */
function medianGapAfterFirstSecond(times: readonly number[]): number {
  const sorted = [...times].sort((x, y) => x - y);
  const from = sorted.findIndex((at) => at >= sorted[0]! + 1000);
  const gaps = sorted.slice(Math.max(1, from)).map((at, i) => at - sorted[Math.max(1, from) + i - 1]!);
  gaps.sort((x, y) => x - y);
  return gaps[Math.floor(gaps.length / 2)] ?? Number.POSITIVE_INFINITY;
}

describe('per-account limit across worker processes', () => {
  it('never lets more than 10 calls of one account arrive in any sliding second', async () => {
    const jobs = [
      ...Array.from({ length: 100 }, () => ({ type: 'ship', ...vvtoolShip(a.id) })),
      ...Array.from({ length: 40 }, () => ({ type: 'ship', ...vvtoolShip(b.id) })),
    ];
    const results = await service.producer.batch(jobs);
    expect(results.every((result) => !result.duplicate)).toBe(true);
    await until(
      'all 140 jobs completed',
      async () => (await service.queues.ship.getCompletedCount()) >= 140 || undefined,
      {
        timeoutMs: 90_000,
        everyMs: 500,
      },
    );
    const report = await upstream.control.report();
    const timesA = (await upstream.control.calls({ account: a.id })).map((call) => call.at);
    const timesB = (await upstream.control.calls({ account: b.id })).map((call) => call.at);
    for (const [name, times] of [
      ['A', timesA],
      ['B', timesB],
    ] as const) {
      if (maxInSlidingWindow(times) > 10)
        console.log(`over the limit (${name}): ${describeWorstWindow(times, 10)}`);
    }
    expect(report.violations).toEqual([]);
    expect(timesA).toHaveLength(100);
    expect(timesB).toHaveLength(40);
    expect(maxInSlidingWindow(timesA)).toBeLessThanOrEqual(10);
    expect(maxInSlidingWindow(timesB)).toBeLessThanOrEqual(10);
    // The limit is used, not just respected: with a backlog, some second holds 9 or 10 calls.
    expect(maxInSlidingWindow(timesA)).toBeGreaterThanOrEqual(9);
    expect(workers.map((worker) => worker.output()).join('')).not.toMatch(/"level":50/);
  });
});

describe('per-account limit, many accounts at once', () => {
  it('keeps each of 20 accounts with 40 jobs at 10 or fewer calls in any sliding second', async () => {
    const before = await service.queues.ship.getCompletedCount();
    const jobs = Array.from({ length: 40 }, () =>
      many.map((account) => ({ type: 'ship', ...vvtoolShip(account.id) })),
    );
    await service.producer.batch(jobs.flat());
    await until(
      'all 800 jobs completed',
      async () => (await service.queues.ship.getCompletedCount()) - before >= 800 || undefined,
      { timeoutMs: 120_000, everyMs: 500 },
    );
    const typicalGaps: number[] = [];
    const arrivals: number[][] = [];
    for (const account of many) {
      const times = (await upstream.control.calls({ account: account.id })).map((call) => call.at);
      arrivals.push(times);
      if (maxInSlidingWindow(times) > 10)
        console.log(`over the limit (${account.id}): ${describeWorstWindow(times, 10)}`);
      expect(times).toHaveLength(40);
      expect(maxInSlidingWindow(times)).toBeLessThanOrEqual(10);
      typicalGaps.push(medianGapAfterFirstSecond(times));
    }
    expect((await upstream.control.report()).violations).toEqual([]);
    // The rate half of the limiter: after its first second, each account's calls follow one another
    // slot after slot: the typical gap is within 90% of the widest spacing (so at least 73% of the
    // limit; 97-98% on a calm machine, where the gaps are 102-103 ms). The median gap, not the span: a loaded machine may stall any
    // process now and then, which costs that slot (measured in bench/, limiter-burst), but a design
    // that leaves slots unused while jobs wait (jobs back late from the line, a slot reserved for a
    // job and lost) shows in most gaps.
    console.log(
      `median gap per account after its first second, ms: ${typicalGaps.map((gap) => gap.toFixed(1)).join(' ')}`,
    );
    for (const gap of typicalGaps) expect(gap).toBeLessThanOrEqual(WIDEST_SPACING_MS / 0.9);
    // And all together: while every account still has work, after the first second, at least 85% of
    // the 200 calls/s the twenty limits allow. The margin's ceiling is 98.5% (spacing 101.5 ms); seen
    // here: 96% calm.
    const aggregate = aggregateRateAfterFirstSecond(arrivals);
    console.log(`aggregate after the first second: ${aggregate.toFixed(1)} calls/s of ${many.length * 10}`);
    expect(aggregate).toBeGreaterThanOrEqual(0.85 * many.length * 10);
  });
});
