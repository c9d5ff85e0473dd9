import type { Queue } from 'bullmq';
import { DEFAULTS } from '../../src/config/index.js';
import { aggregateRateAfterFirstSecond } from '../../support/arrivals.js';
import { type BenchAccount, makeAccounts } from '../lib/accounts.js';
import { pausedBacklog } from '../lib/backlog.js';
import type { BenchContext, Benchmark } from '../lib/context.js';
import { interleaved } from '../lib/payloads.js';
import { type Rig, withRig } from '../lib/rig.js';
import { wireNote } from '../lib/sampling.js';
import { type SandboxProcess, startSandboxProcess } from '../lib/sandbox-process.js';
import { fmt, met, type Row, ratio } from '../lib/table.js';
import { now, sleep } from '../lib/time.js';
import { maxPerAccount, overLimitGaps } from '../lib/window.js';

const ACCOUNTS = 20;
const RATE = 10;
const PROCESSES = 2;
const PER_ACCOUNT = 40;
const TOTAL = ACCOUNTS * PER_ACCOUNT;
/** The run ends when every call arrived, or after this long. */
const DEADLINE_MS = 60_000;

interface Measured {
  /** From the first call's arrival to the last's, ms. */
  readonly spanMs: number;
  readonly calls: number;
  readonly accountsOver: number;
  readonly worstWindow: number;
  /** Per account, its calls over its own first-to-last span: the median account's rate. */
  readonly medianAccountRate: number;
  /**
   * Calls/s of all accounts together from one second after the first call until the first account
   * made its last: while every account has work (the rate-limit test's measure).
   */
  readonly afterFirstSecond: number;
  /** Times a job was taken from the queue (BullMQ's attemptsStarted), per job. */
  readonly takesPerJob: number | null;
  readonly wire: string;
  /** The first window over the limit, if any: its gaps. */
  readonly over: string;
}

/**
 * The scenario, as a new user tries it: 20 accounts × 10/s, 40 jobs each, 2 worker processes.
 * Each account could finish its 40 calls in 4 s (3.9 s from the first call to the last at 10/s); how
 * close the product comes, beside bare BullMQ with one clustered Bottleneck per account.
 */
export const limiterBurst: Benchmark = {
  name: 'limiter-burst',
  title: `${ACCOUNTS} accounts × ${PER_ACCOUNT} jobs at ${RATE}/s, ${PROCESSES} worker processes`,
  run: (ctx) =>
    withRig(ctx, async (rig) => {
      const accounts = makeAccounts('b', ACCOUNTS, RATE);
      const sandbox = await startSandboxProcess(accounts, RATE);
      rig.track(sandbox.child);
      const product = await measure(ctx, rig, sandbox, accounts, 'product');
      await sandbox.control.reset();
      const bottleneck = await measure(ctx, rig, sandbox, accounts, 'bottleneck');
      // 40 calls at exactly 10/s span 3.9 s; the product's spacing adds its margin.
      const idealSpanMs = ((PER_ACCOUNT - 1) * 1000) / RATE;
      const ceilingSpanMs = ((PER_ACCOUNT - 1) * (1000 + DEFAULTS.LIMITER_MARGIN_MS)) / RATE;
      const share = (m: Measured) => (100 * idealSpanMs) / m.spanMs;
      const rows: Row[] = [
        {
          metric: `all ${TOTAL} calls, first to last (ideal ${fmt(idealSpanMs / 1000, 2)} s)`,
          product: `${fmt(product.spanMs / 1000, 2)} s (${fmt(share(product), 1)}%)`,
          baseline: `Bottleneck: ${fmt(bottleneck.spanMs / 1000, 2)} s (${fmt(share(bottleneck), 1)}%)`,
          ratio: ratio(bottleneck.spanMs, product.spanMs),
          goal: '≥ 90% of ideal',
          met: met(share(product) >= 90),
        },
        {
          metric: 'aggregate calls/s after the first second, while every account has work (ideal 200)',
          product: `${fmt(product.afterFirstSecond)} (${fmt(product.afterFirstSecond / 2, 1)}%)`,
          baseline: `Bottleneck: ${fmt(bottleneck.afterFirstSecond)} (${fmt(bottleneck.afterFirstSecond / 2, 1)}%)`,
          ratio: ratio(product.afterFirstSecond, bottleneck.afterFirstSecond),
          goal: '(report; the test asserts ≥ 85%)',
          met: '',
        },
        {
          metric: 'aggregate calls/s (ideal 200)',
          product: fmt((product.calls * 1000) / product.spanMs),
          baseline: `Bottleneck: ${fmt((bottleneck.calls * 1000) / bottleneck.spanMs)}`,
          ratio: ratio(product.calls / product.spanMs, bottleneck.calls / bottleneck.spanMs),
          goal: '',
          met: '',
        },
        {
          metric: 'median account: calls/s over its own span',
          product: fmt(product.medianAccountRate, 2),
          baseline: `Bottleneck: ${fmt(bottleneck.medianAccountRate, 2)}`,
          ratio: ratio(product.medianAccountRate, bottleneck.medianAccountRate),
          goal: '',
          met: '',
        },
        {
          metric: 'worst account: max calls in a sliding 1000 ms',
          product: String(product.worstWindow),
          baseline: `Bottleneck: ${bottleneck.worstWindow}`,
          ratio: '—',
          goal: '≤ 10',
          met: met(product.worstWindow <= RATE && product.accountsOver === 0),
        },
        {
          metric: 'takes per job (times a worker took it from the queue)',
          product: product.takesPerJob === null ? 'n/a' : fmt(product.takesPerJob, 2),
          baseline: `Bottleneck: ${bottleneck.takesPerJob === null ? 'n/a' : fmt(bottleneck.takesPerJob, 2)}`,
          ratio: '—',
          goal: '',
          met: '',
        },
      ];
      return {
        name: 'limiter-burst',
        title: limiterBurst.title,
        rows,
        notes: [
          `${PER_ACCOUNT} jobs per account enqueued interleaved into a paused queue, resumed once the workers were up; concurrency 50 per process; the run ends at the last call.`,
          product.wire,
          ...(product.over === '' ? [] : [`Over the limit: ${product.over}.`]),
          `With LIMITER_MARGIN_MS ${DEFAULTS.LIMITER_MARGIN_MS} one account's ${PER_ACCOUNT} calls span at least ${fmt(ceilingSpanMs / 1000, 2)} s (${fmt((100 * idealSpanMs) / ceilingSpanMs, 1)}% of ideal).`,
        ],
        raw: { accounts: ACCOUNTS, perAccount: PER_ACCOUNT, rate: RATE, product, bottleneck },
      };
    }),
};

async function measure(
  ctx: BenchContext,
  rig: Rig,
  sandbox: SandboxProcess,
  accounts: readonly BenchAccount[],
  variant: 'product' | 'bottleneck',
): Promise<Measured> {
  const prefix = rig.prefix(`burst-${variant}`);
  const shipments = interleaved(
    accounts.map((account) => account.id),
    PER_ACCOUNT,
  );
  ctx.log(`limiter-burst: ${variant} enqueueing ${shipments.length} jobs`);
  const { queue, workers } = await pausedBacklog({
    rig,
    prefix,
    accounts,
    upstreamUrl: sandbox.url,
    shipments,
    processes: PROCESSES,
    variant,
  });
  ctx.log(`limiter-burst: ${variant} running ${TOTAL} jobs`);
  await queue.resume();
  const deadline = now() + DEADLINE_MS;
  let calls = await sandbox.control.calls();
  while (calls.length < TOTAL && now() < deadline) {
    await sleep(200);
    calls = await sandbox.control.calls();
  }
  const takesPerJob = await takes(queue, TOTAL);
  const wire = variant === 'product' ? await wireNote(workers) : '';
  await rig.stop(workers);
  await rig.clean(prefix);
  if (calls.length < TOTAL)
    throw new Error(`limiter-burst: ${variant} made ${calls.length} of ${TOTAL} calls`);
  const times = calls.map((call) => call.at);
  const windows = maxPerAccount(calls);
  return {
    spanMs: Math.max(...times) - Math.min(...times),
    calls: calls.length,
    accountsOver: [...windows.values()].filter((max) => max > RATE).length,
    worstWindow: Math.max(0, ...windows.values()),
    medianAccountRate: median(accountRates(calls)),
    afterFirstSecond: aggregateRateAfterFirstSecond(byAccount(calls)),
    takesPerJob,
    wire,
    over: overLimitGaps(calls, RATE),
  };
}

/** Sum of BullMQ's attemptsStarted over the finished jobs still kept, per job; null when none are kept. */
async function takes(queue: Queue, total: number): Promise<number | null> {
  const jobs = await queue.getJobs(['completed', 'active', 'delayed', 'wait', 'prioritized'], 0, total);
  if (jobs.length === 0) return null;
  const started = jobs.reduce((sum, job) => sum + (job?.attemptsStarted ?? 0), 0);
  return started / jobs.length;
}

type Arrival = { account: string | null; at: number };

function byAccount(calls: readonly Arrival[]): number[][] {
  const lists = new Map<string, number[]>();
  for (const call of calls) {
    if (call.account === null) continue;
    const list = lists.get(call.account) ?? [];
    list.push(call.at);
    lists.set(call.account, list);
  }
  return [...lists.values()];
}

function accountRates(calls: readonly Arrival[]): number[] {
  return byAccount(calls).map((list) => {
    const span = Math.max(...list) - Math.min(...list);
    return span > 0 ? ((list.length - 1) * 1000) / span : 0;
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
