import { DEFAULTS } from '../../src/config/index.js';
import type { CallRecord } from '../../src/sandbox/index.js';
import { addBulkInChunks, type BareOptions, openBareQueue, startBareWorkers } from '../baselines/bare.js';
import { type BenchAccount, makeAccounts } from '../lib/accounts.js';
import { allReady, type Child } from '../lib/children.js';
import type { BenchContext, Benchmark } from '../lib/context.js';
import { interleaved } from '../lib/payloads.js';
import { enqueueWithBatch, openProduct, productEnv, startProductWorkers } from '../lib/product.js';
import { withRig } from '../lib/rig.js';
import { wireNote } from '../lib/sampling.js';
import { type SandboxProcess, startSandboxProcess } from '../lib/sandbox-process.js';
import { fmt, met, type Row, ratio } from '../lib/table.js';
import { now, pollUntil, sleep } from '../lib/time.js';
import { maxPerAccount } from '../lib/window.js';

const RATE = 10;
/** The product's default margin: these runs leave LIMITER_MARGIN_MS unset. */
const MARGIN_MS = DEFAULTS.LIMITER_MARGIN_MS;
const PROCESSES = 3;
const DURATION_MS = 30_000;
/** Twice what 30 s at the limit can take: the backlog never runs dry. */
const BACKLOG = RATE * (DURATION_MS / 1000) * 2;
/** How long a variant may take to make its first call before the run is called failed. */
const MAX_START_MS = 15_000;

interface Variant {
  readonly key: string;
  readonly label: string;
  readonly account: BenchAccount;
}

interface Measured {
  readonly callsPerSecond: number;
  readonly maxInWindow: number;
  readonly sandboxMaxInWindow: number;
  readonly refused: number;
  readonly calls: number;
  /** From the start of enqueueing the backlog to this variant's first call at the sandbox. */
  readonly firstCallMs: number;
  readonly gaps: Gaps;
  readonly arrivals?: number[];
}

/**
 * One account at 10/s, 3 worker processes, a 30 s backlog: the rate achieved and the most calls the
 * upstream saw in any sliding second, for the product and for three plain limiters, each on its own
 * account, queue and prefix, against one sandbox: the product alone, then the three baselines at once
 * (their processes' start would starve the product's; see runWindow's caller).
 */
export const limiterOne: Benchmark = {
  name: 'limiter-one',
  title: `1 account at ${RATE}/s, ${PROCESSES} worker processes, ${DURATION_MS / 1000} s of backlog`,
  run: (ctx) =>
    withRig(ctx, async (rig) => {
      const [product, b100, b105, bullmq] = ['p', 'b', 'c', 'q'].map(
        (tag) => makeAccounts(tag, 1, RATE)[0]!,
      ) as [BenchAccount, BenchAccount, BenchAccount, BenchAccount];
      const variants: Variant[] = [
        { key: 'product', label: 'product', account: product },
        { key: 'bottleneck100', label: 'Bottleneck minTime 100', account: b100 },
        { key: 'bottleneck105', label: 'Bottleneck minTime 105', account: b105 },
        { key: 'bullmq', label: 'BullMQ limiter {max 10, duration 1000}', account: bullmq },
      ];
      const sandbox = await startSandboxProcess([product, b100, b105, bullmq], RATE);
      rig.track(sandbox.child);

      // The product: enqueue through the library, workers as `npm run worker:ship` runs them.
      const productPrefix = rig.prefix('lim1-product');
      const env = productEnv({ prefix: productPrefix, accounts: [product], upstreamUrl: sandbox.url });
      const client = openProduct(env);
      rig.onClose(() => client.close());

      // The baselines: bare BullMQ workers making the same ky call behind a plain limiter.
      const bareSetups: Array<[BenchAccount, string, Partial<BareOptions>]> = [
        [b100, 'lim1-b100', { limiter: 'bottleneck', minTime: 100 }],
        [b105, 'lim1-b105', { limiter: 'bottleneck', minTime: 105 }],
        [bullmq, 'lim1-bullmq', { limiter: 'bullmq' }],
      ];
      // Two windows, each with its workers started first, idle on empty queues: the product alone,
      // then the three baselines together. Nine baseline processes starting on 2 cores beside the
      // product's three would starve them of CPU for their first second or two, and a product call
      // that cannot leave on time is held back (the bound comes first): that measures the neighbours.
      const productWorkers = rig.track(startProductWorkers(PROCESSES, env));
      const startedAt = new Map<string, number>();
      await runWindow(ctx, sandbox, productWorkers, variants.slice(0, 1), startedAt, [
        () => enqueueWithBatch(client.service, interleaved([product.id], BACKLOG)),
      ]);
      const wire = await wireNote(productWorkers);
      await rig.stop(productWorkers);

      const bareWorkers: Child[] = [];
      const backlogs: Array<() => Promise<void>> = [];
      for (const [account, tag, options] of bareSetups) {
        const prefix = rig.prefix(tag);
        const bare = openBareQueue(prefix);
        rig.onClose(() => bare.close());
        backlogs.push(() => addBulkInChunks(bare.queue, interleaved([account.id], BACKLOG)));
        const full: BareOptions = {
          prefix,
          accounts: [account],
          upstreamUrl: sandbox.url,
          concurrency: 50,
          client: 'ky',
          limiter: 'none',
          ...options,
        };
        bareWorkers.push(...rig.track(startBareWorkers(PROCESSES, full, tag)));
      }
      await runWindow(ctx, sandbox, bareWorkers, variants.slice(1), startedAt, backlogs);
      await rig.stop(bareWorkers);
      const calls = await sandbox.control.calls();
      const report = await sandbox.control.report();
      const byAccount = new Map<string, CallRecord[]>();
      for (const call of calls) {
        if (call.account === null) continue;
        byAccount.set(call.account, [...(byAccount.get(call.account) ?? []), call]);
      }
      const windows = maxPerAccount(calls);
      const measured = new Map<string, Measured>();
      const detail: Record<string, unknown> = {};
      for (const variant of variants) {
        const own = byAccount.get(variant.account.id) ?? [];
        if (own.length === 0) throw new Error(`${variant.label}: no call reached the sandbox`);
        const first = own[0]!.at;
        if (first + DURATION_MS > now()) {
          throw new Error(
            `${variant.label}: first call ${fmt(first - startedAt.get(variant.key)!)} ms after start, ${own.length} calls: too late to measure`,
          );
        }
        const inWindow = own.filter((call) => call.at >= first && call.at < first + DURATION_MS).length;
        // Where the upstream saw more than RATE in a second, relative to the variant's first call.
        const over = report.violations
          .filter((violation) => violation.account === variant.account.id)
          .map((violation) => Math.round(violation.at - first));
        detail[variant.key] = {
          firstCallAfterStartMs: Math.round(first - startedAt.get(variant.key)!),
          overLimitCount: over.length,
          overLimitFirstAtMs: over.slice(0, 20),
        };
        measured.set(variant.key, {
          callsPerSecond: inWindow / (DURATION_MS / 1000),
          maxInWindow: windows.get(variant.account.id) ?? 0,
          sandboxMaxInWindow: report.byAccount[variant.account.id]?.maxInWindow ?? 0,
          refused: own.filter((call) => call.httpStatus === 429).length,
          calls: own.length,
          firstCallMs: first - startedAt.get(variant.key)!,
          gaps: gapsOf(own.map((call) => call.at).filter((at) => at < first + DURATION_MS)),
          arrivals: own.map((call) => call.at),
        });
      }
      const p = measured.get('product')!;
      const productGaps = p.gaps;
      if (p.maxInWindow !== p.sandboxMaxInWindow) {
        throw new Error(`window helper says ${p.maxInWindow}, sandbox says ${p.sandboxMaxInWindow}`);
      }

      const rows: Row[] = [];
      for (const variant of variants.slice(1)) {
        const b = measured.get(variant.key)!;
        rows.push({
          metric: 'calls/s achieved',
          product: fmt(p.callsPerSecond, 2),
          baseline: `${variant.label}: ${fmt(b.callsPerSecond, 2)}`,
          ratio: ratio(p.callsPerSecond, b.callsPerSecond),
          goal: '≥ 9.7',
          met: met(p.callsPerSecond >= 9.7),
        });
      }
      for (const variant of variants.slice(1)) {
        const b = measured.get(variant.key)!;
        rows.push({
          metric: 'max calls in a sliding 1000 ms',
          product: String(p.maxInWindow),
          baseline: `${variant.label}: ${b.maxInWindow}`,
          ratio: ratio(p.maxInWindow, b.maxInWindow),
          goal: '≤ 10',
          met: met(p.maxInWindow <= RATE),
        });
      }
      for (const variant of variants.slice(1)) {
        const b = measured.get(variant.key)!;
        rows.push({
          metric: 'calls refused 429 by the sandbox',
          product: String(p.refused),
          baseline: `${variant.label}: ${b.refused}`,
          ratio: '—',
          goal: '0',
          met: met(p.refused === 0),
        });
      }
      for (const variant of variants.slice(1)) {
        const b = measured.get(variant.key)!;
        rows.push({
          metric: 'first call after the backlog is enqueued',
          product: `${fmt(p.firstCallMs)} ms`,
          baseline: `${variant.label}: ${fmt(b.firstCallMs)} ms`,
          ratio: ratio(p.firstCallMs, b.firstCallMs),
          goal: '',
          met: '',
        });
      }
      return {
        name: 'limiter-one',
        title: limiterOne.title,
        rows,
        notes: [
          'The product ran alone (3 worker processes), then the three baselines at once (9 processes); one sandbox, each variant on its own account and Redis prefix.',
          `Rate: arrivals at the sandbox in the ${DURATION_MS / 1000} s after each variant's first call; window: over every call of the run, by arrival.`,
          wire,
          `Product spacing is (1000 + LIMITER_MARGIN_MS ${MARGIN_MS}) / ${RATE} = ${fmt((1000 + MARGIN_MS) / RATE, 1)} ms, so its ceiling is ${fmt((1000 * RATE) / (1000 + MARGIN_MS), 2)} calls/s. Its arrivals were ${productGaps.medianMs} ms apart at the median; ${productGaps.longCount === 0 ? 'none was longer than 1.5× the spacing' : `${productGaps.longCount} gaps longer than 1.5× the spacing (${productGaps.longMs.map((gap, i) => `${gap} ms at ${fmt(productGaps.longAtMs[i]! / 1000, 1)} s`).join(', ')}) left ${fmt(productGaps.longExcessMs)} ms of the ${DURATION_MS / 1000} s unused`}.`,
        ],
        raw: {
          durationMs: DURATION_MS,
          backlog: BACKLOG,
          startedAt: Object.fromEntries(startedAt),
          measured: Object.fromEntries(measured),
          detail,
        },
      };
    }),
};

interface Gaps {
  readonly medianMs: number;
  readonly longCount: number;
  /** Time beyond the spacing in the long gaps: the rate the variant left unused. */
  readonly longExcessMs: number;
  /** The first 20 long gaps, and where each began (ms after the first call). */
  readonly longMs: readonly number[];
  readonly longAtMs: readonly number[];
}

/** Where a variant's rate went: gaps between consecutive arrivals, and those well past the spacing. */
function gapsOf(times: readonly number[]): Gaps {
  const spacing = (1000 + MARGIN_MS) / RATE;
  const gaps = times
    .slice(1)
    .map((at, index) => ({ gap: at - times[index]!, at: times[index]! - times[0]! }));
  const sorted = gaps.map(({ gap }) => gap).sort((a, b) => a - b);
  const long = gaps.filter(({ gap }) => gap > 1.5 * spacing);
  return {
    medianMs: sorted.length === 0 ? 0 : Math.round(sorted[Math.floor(sorted.length / 2)]! * 10) / 10,
    longCount: long.length,
    longExcessMs: Math.round(long.reduce((sum, { gap }) => sum + gap - spacing, 0)),
    longMs: long.slice(0, 20).map(({ gap }) => Math.round(gap)),
    longAtMs: long.slice(0, 20).map(({ at }) => Math.round(at)),
  };
}

/**
 * One window: `workers` (already starting) get ready, every backlog goes in at once, and the run lasts
 * until each variant has had DURATION_MS after its own first call. Records each variant's start.
 */
async function runWindow(
  ctx: BenchContext,
  sandbox: SandboxProcess,
  workers: readonly Child[],
  variants: readonly Variant[],
  startedAt: Map<string, number>,
  backlogs: ReadonlyArray<() => Promise<void>>,
): Promise<void> {
  const names = variants.map((variant) => variant.label).join(', ');
  ctx.log(`limiter-one: ${names}: ${workers.length} worker processes starting`);
  await allReady(workers);
  const started = now();
  for (const variant of variants) startedAt.set(variant.key, started);
  await Promise.all(backlogs.map((enqueue) => enqueue()));
  ctx.log(`limiter-one: ${names}: running ${DURATION_MS / 1000} s`);
  await sleep(DURATION_MS);
  // Every variant must have had its full window after its own first call, however late that came.
  const firstCalls = await pollUntil(
    async () => {
      const firsts = await Promise.all(
        variants.map(async (v) => (await sandbox.control.calls({ account: v.account.id }))[0]?.at),
      );
      return firsts.every((at) => at !== undefined && at + DURATION_MS + 200 <= now()) ? firsts : undefined;
    },
    MAX_START_MS,
    250,
  );
  if (!firstCalls) throw new Error(`a variant made no call within ${MAX_START_MS / 1000} s of its backlog`);
}
