import { DEFAULTS } from '../../src/config/index.js';
import { type BenchAccount, makeAccounts } from '../lib/accounts.js';
import { pausedBacklog } from '../lib/backlog.js';
import type { BenchContext, Benchmark } from '../lib/context.js';
import { interleaved } from '../lib/payloads.js';
import { type Rig, withRig } from '../lib/rig.js';
import { cpuBetween, cpuSnapshot, wireNote } from '../lib/sampling.js';
import { type SandboxProcess, startSandboxProcess } from '../lib/sandbox-process.js';
import { fmt, met, type Row, ratio } from '../lib/table.js';
import { sleep } from '../lib/time.js';
import { maxPerAccount } from '../lib/window.js';
import { HIGH_RATE } from './pipeline.js';

const ACCOUNTS = 100;
const RATE = 10;
const PROCESSES = 2;
const WARMUP_MS = 2_000;
const DURATION_MS = 20_000;
/** Per account: more than warm-up + window can take at the limit, so no account runs dry. */
const PER_ACCOUNT = 300;
const IDEAL = ACCOUNTS * RATE;

interface Measured {
  readonly callsPerSecond: number;
  readonly accountsOver: number;
  readonly worstWindow: number;
  readonly refused: number;
  readonly workerCpuMsPer1000: number;
  readonly redisCpuMsPer1000: number;
  readonly workerCores: number;
  readonly redisCores: number;
  readonly sandboxCores: number;
  /** Calls per second of the run, second by second from the first call. */
  readonly timeline: readonly number[];
  readonly wire: string;
  /** Takes from the queue per completed job, over the whole run (BullMQ `active` events). */
  readonly takesPerJob: number;
  /** When the run emptied its backlog inside the window: ms after the window's start. */
  readonly ranDryAfterMs: number | undefined;
}

/**
 * 100 accounts at 10/s over 2 worker processes for 20 s: aggregate rate, accounts the upstream saw
 * above 10 in a sliding second, and the CPU (workers' and Redis's) per 1,000 calls, for the product
 * and for bare BullMQ workers with one plain clustered Bottleneck per account (minTime 100); and the
 * product's own processes with no effective limit, which is what the goal's rate is held against when
 * this machine cannot do 1,000 calls/s at all.
 */
export const limiterMany: Benchmark = {
  name: 'limiter-many',
  title: `${ACCOUNTS} accounts × ${RATE}/s, ${PROCESSES} worker processes, ${DURATION_MS / 1000} s`,
  run: (ctx) =>
    withRig(ctx, async (rig) => {
      const accounts = makeAccounts('m', ACCOUNTS, RATE);
      const sandbox = await startSandboxProcess(accounts, RATE);
      rig.track(sandbox.child);
      const product = await measure(ctx, rig, sandbox, accounts, 'product');
      await sandbox.control.reset();
      const bottleneck = await measure(ctx, rig, sandbox, accounts, 'bottleneck');
      await rig.stop([sandbox.child]);
      // The same product processes with no effective limit (accounts and sandbox at 1,000,000/s):
      // what this machine lets them do at all, the other half of the goal's min(1,000/s, unlimited).
      const open = accounts.map((account) => ({ ...account, ratePerSecond: HIGH_RATE }));
      const openSandbox = await startSandboxProcess(open, HIGH_RATE);
      rig.track(openSandbox.child);
      const unlimited = await measure(ctx, rig, openSandbox, open, 'product');
      const target = Math.min(IDEAL, unlimited.callsPerSecond);

      const rows: Row[] = [
        {
          metric: `aggregate calls/s (ideal ${fmt(IDEAL)})`,
          product: `${fmt(product.callsPerSecond)} (${fmt((100 * product.callsPerSecond) / IDEAL, 1)}%)`,
          baseline: `Bottleneck: ${fmt(bottleneck.callsPerSecond)} (${fmt((100 * bottleneck.callsPerSecond) / IDEAL, 1)}%)`,
          ratio: ratio(product.callsPerSecond, bottleneck.callsPerSecond),
          goal: '≥ 90%',
          met: met(product.callsPerSecond >= 0.9 * IDEAL),
        },
        {
          metric: 'aggregate calls/s against the same processes with no limit',
          product: fmt(product.callsPerSecond),
          baseline: `no limit: ${fmt(unlimited.callsPerSecond)}`,
          ratio: ratio(product.callsPerSecond, unlimited.callsPerSecond),
          goal: `≥ 0.9 × min(1,000, no limit) = ${fmt(0.9 * target)}`,
          met: met(product.callsPerSecond >= 0.9 * target),
        },
        {
          metric: 'accounts ever above 10 in a sliding 1000 ms',
          product: String(product.accountsOver),
          baseline: `Bottleneck: ${bottleneck.accountsOver}`,
          ratio: '—',
          goal: '0',
          met: met(product.accountsOver === 0),
        },
        {
          metric: 'worst account: max calls in a sliding 1000 ms',
          product: String(product.worstWindow),
          baseline: `Bottleneck: ${bottleneck.worstWindow}`,
          ratio: ratio(product.worstWindow, bottleneck.worstWindow),
          goal: '≤ 10',
          met: met(product.worstWindow <= RATE),
        },
        {
          metric: 'calls refused 429 by the sandbox',
          product: String(product.refused),
          baseline: `Bottleneck: ${bottleneck.refused}`,
          ratio: '—',
          goal: '0',
          met: met(product.refused === 0),
        },
        {
          metric: 'takes per finished job (times a worker took a job from the queue)',
          product: fmt(product.takesPerJob, 2),
          baseline: `Bottleneck: ${fmt(bottleneck.takesPerJob, 2)}`,
          ratio: ratio(product.takesPerJob, bottleneck.takesPerJob),
          goal: '≤ 1.2',
          met: met(product.takesPerJob <= 1.2),
        },
        {
          metric: 'seconds from the first call to 90% of the steady rate',
          product: fmt(toNinety(product.timeline), 0),
          baseline: `Bottleneck: ${fmt(toNinety(bottleneck.timeline), 0)}`,
          ratio: ratio(toNinety(product.timeline), toNinety(bottleneck.timeline)),
          goal: '',
          met: '',
        },
        {
          metric: 'worker CPU per 1,000 calls (both processes)',
          product: `${fmt(product.workerCpuMsPer1000)} ms`,
          baseline: `Bottleneck: ${fmt(bottleneck.workerCpuMsPer1000)} ms`,
          ratio: ratio(product.workerCpuMsPer1000, bottleneck.workerCpuMsPer1000),
          goal: '',
          met: '',
        },
        {
          metric: 'Redis CPU per 1,000 calls',
          product: `${fmt(product.redisCpuMsPer1000)} ms`,
          baseline: `Bottleneck: ${fmt(bottleneck.redisCpuMsPer1000)} ms`,
          ratio: ratio(product.redisCpuMsPer1000, bottleneck.redisCpuMsPer1000),
          goal: '',
          met: '',
        },
      ];
      return {
        name: 'limiter-many',
        title: limiterMany.title,
        rows,
        notes: [
          `Product and baseline ran one after the other on the same ${ACCOUNTS} accounts and sandbox; ${PER_ACCOUNT} jobs per account enqueued, interleaved; concurrency 50 per process.`,
          `Rate and CPU over ${DURATION_MS / 1000} s after a ${WARMUP_MS / 1000} s warm-up; sliding windows over every call of the run. The product's ceiling with LIMITER_MARGIN_MS ${DEFAULTS.LIMITER_MARGIN_MS} is ${fmt((IDEAL * 1000) / (1000 + DEFAULTS.LIMITER_MARGIN_MS))} calls/s.`,
          `The no-limit run: the product's own workers on the same ${ACCOUNTS} accounts, configured (and the sandbox) at ${fmt(HIGH_RATE)}/s, after the other two${unlimited.ranDryAfterMs === undefined ? '' : ` (its backlog ran out ${fmt(unlimited.ranDryAfterMs / 1000, 1)} s into the window: its rate is over that time)`}; its workers used ${fmt(unlimited.workerCores, 2)} cores at ${fmt(unlimited.workerCpuMsPer1000)} ms per 1,000 calls. Calls per second, second by second: ${unlimited.timeline.join(' ')}.`,
          `Cores busy in the window: product workers ${fmt(product.workerCores, 2)}, Redis ${fmt(product.redisCores, 2)}, sandbox ${fmt(product.sandboxCores, 2)}; Bottleneck workers ${fmt(bottleneck.workerCores, 2)}, Redis ${fmt(bottleneck.redisCores, 2)}, sandbox ${fmt(bottleneck.sandboxCores, 2)}.`,
          'Redis CPU is the whole server (INFO cpu): anything else using this Redis during the run is counted too.',
          product.wire,
          `Calls per second, second by second from the first call: product ${product.timeline.join(' ')}; Bottleneck ${bottleneck.timeline.join(' ')}.`,
        ],
        raw: { accounts: ACCOUNTS, rate: RATE, durationMs: DURATION_MS, product, bottleneck, unlimited },
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
  const prefix = rig.prefix(`many-${variant}`);
  const shipments = interleaved(
    accounts.map((account) => account.id),
    PER_ACCOUNT,
  );
  ctx.log(`limiter-many: ${variant} enqueueing ${shipments.length} jobs`);
  const { queue, workers } = await pausedBacklog({
    rig,
    prefix,
    accounts,
    upstreamUrl: sandbox.url,
    shipments,
    processes: PROCESSES,
    variant,
  });
  await queue.resume();
  await sleep(WARMUP_MS);
  const watched = [...workers, sandbox.child];
  const from = await cpuSnapshot(watched, ctx.redis);
  ctx.log(`limiter-many: ${variant} measuring ${DURATION_MS / 1000} s`);
  await sleep(DURATION_MS);
  const to = await cpuSnapshot(watched, ctx.redis);
  const calls = await sandbox.control.calls();
  const wire = variant === 'product' ? await wireNote(workers) : '';
  const stats = await Promise.all(workers.map((worker) => worker.stats()));
  const takes = stats.reduce((sum, s) => sum + (s.takes ?? 0), 0);
  const completed = stats.reduce((sum, s) => sum + s.completed, 0);
  await rig.stop(workers);
  await rig.clean(prefix);

  const inWindow = calls.filter((call) => call.at >= from.at && call.at < to.at).length;
  // A run fast enough to empty its backlog (the no-limit one) is rated over the time the backlog lasted.
  const ranDry = completed >= shipments.length;
  const lastAt = Math.max(...calls.map((call) => call.at));
  const ratedMs = ranDry ? Math.min(to.at, lastAt) - from.at : to.at - from.at;
  const windows = maxPerAccount(calls);
  const cpu = cpuBetween(from, to);
  const sandboxFrom = from.stats.at(-1)!;
  const sandboxTo = to.stats.at(-1)!;
  const sandboxMs =
    (sandboxTo.cpuUserUs + sandboxTo.cpuSystemUs - sandboxFrom.cpuUserUs - sandboxFrom.cpuSystemUs) / 1000;
  const workerMs = cpu.childrenMs - sandboxMs;
  return {
    callsPerSecond: inWindow / (ratedMs / 1000),
    ranDryAfterMs: ranDry ? Math.round(lastAt - from.at) : undefined,
    accountsOver: [...windows.values()].filter((max) => max > RATE).length,
    worstWindow: Math.max(0, ...windows.values()),
    refused: calls.filter((call) => call.httpStatus === 429).length,
    workerCpuMsPer1000: (workerMs / inWindow) * 1000,
    redisCpuMsPer1000: (cpu.redisMs / inWindow) * 1000,
    workerCores: workerMs / cpu.wallMs,
    redisCores: cpu.redisCores,
    sandboxCores: sandboxMs / cpu.wallMs,
    timeline: perSecond(calls.map((call) => call.at)),
    wire,
    takesPerJob: completed > 0 ? takes / completed : 0,
  };
}

function perSecond(times: readonly number[]): number[] {
  if (times.length === 0) return [];
  const first = Math.min(...times);
  const out: number[] = [];
  for (const at of times) {
    const second = Math.floor((at - first) / 1000);
    while (out.length <= second) out.push(0);
    out[second]! += 1;
  }
  return out;
}

/**
 * Whole seconds from the first call until a second reaches 90% of the steady rate (the median of the
 * run's last 10 full seconds).
 */
function toNinety(timeline: readonly number[]): number {
  const full = timeline.slice(0, -1);
  const last = [...full.slice(-10)].sort((a, b) => a - b);
  const steady = last[Math.floor(last.length / 2)] ?? 0;
  const at = full.findIndex((calls) => calls >= 0.9 * steady);
  return at < 0 ? full.length : at;
}
