import { openBareQueue, startBareWorkers } from '../baselines/bare.js';
import { bareJob } from '../baselines/job-options.js';
import { type BenchAccount, makeAccounts } from '../lib/accounts.js';
import { allReady, type Child } from '../lib/children.js';
import type { BenchContext, Benchmark } from '../lib/context.js';
import { nextShipment, type Shipment } from '../lib/payloads.js';
import { openProduct, productEnv, startProductWorkers } from '../lib/product.js';
import { type Rig, withRig } from '../lib/rig.js';
import { type SandboxProcess, startSandboxProcess } from '../lib/sandbox-process.js';
import { percentile } from '../lib/stats.js';
import { fmt, met, type Row, ratio } from '../lib/table.js';
import { now, pollUntil, sleep } from '../lib/time.js';

const JOBS = 200;
/** Not counted: the first jobs of a fresh process pay for JIT and new connections. */
const WARMUP_JOBS = 20;
const SPACING_MS = 50;
const ACCOUNTS = 10;
const RATE = 10;

type VariantKind = 'product' | 'bare' | 'bottleneck';

interface Measured {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

const LABEL: Record<VariantKind, string> = {
  product: 'product',
  bare: 'bare BullMQ + ky, no limiter',
  bottleneck: 'bare BullMQ + ky + clustered Bottleneck',
};

/**
 * An idle queue and 200 jobs spaced 50 ms apart (round robin over 10 accounts at 10/s, so the limiter
 * is consulted but never makes a job wait): time from the enqueue call to the upstream receiving the
 * call, for the product (1 worker process) and for bare BullMQ workers without and with Bottleneck.
 */
export const latency: Benchmark = {
  name: 'latency',
  title: `idle queue, ${JOBS} jobs ${SPACING_MS} ms apart, 1 worker process: enqueue → upstream`,
  run: (ctx) =>
    withRig(ctx, async (rig) => {
      const accounts = makeAccounts('l', ACCOUNTS, RATE);
      const sandbox = await startSandboxProcess(accounts, RATE);
      rig.track(sandbox.child);
      const results: Partial<Record<VariantKind, Measured>> = {};
      for (const kind of ['product', 'bare', 'bottleneck'] as const) {
        results[kind] = await measure(ctx, rig, sandbox, accounts, kind);
        await sandbox.control.reset();
      }
      const p = results.product!;
      const rows: Row[] = [];
      for (const kind of ['bare', 'bottleneck'] as const) {
        const b = results[kind]!;
        rows.push(
          {
            metric: 'p50 enqueue → upstream',
            product: `${fmt(p.p50, 1)} ms`,
            baseline: `${LABEL[kind]}: ${fmt(b.p50, 1)} ms`,
            ratio: ratio(p.p50, b.p50),
            goal: '',
            met: '',
          },
          {
            metric: 'p99 enqueue → upstream',
            product: `${fmt(p.p99, 1)} ms`,
            baseline: `${LABEL[kind]}: ${fmt(b.p99, 1)} ms`,
            ratio: ratio(p.p99, b.p99),
            goal: '< 15 ms',
            met: met(p.p99 < 15),
          },
        );
      }
      return {
        name: 'latency',
        title: latency.title,
        rows,
        notes: [
          `Product max ${fmt(p.max, 1)} ms, mean ${fmt(p.mean, 1)} ms; the product enqueues with producer.ship (validation, id claim, add), the bare baselines with Queue.add (same id and options).`,
          `Each variant got ${WARMUP_JOBS} warm-up jobs first (not counted). Times are the enqueue call's start here and the arrival stamp at the sandbox, both epoch ms on this machine's clock.`,
        ],
        raw: { jobs: JOBS, spacingMs: SPACING_MS, results },
      };
    }),
};

async function measure(
  ctx: BenchContext,
  rig: Rig,
  sandbox: SandboxProcess,
  accounts: readonly BenchAccount[],
  kind: VariantKind,
): Promise<Measured> {
  const prefix = rig.prefix(`lat-${kind}`);
  let send: (shipment: Shipment) => Promise<unknown>;
  let workers: Child[];
  if (kind === 'product') {
    const env = productEnv({ prefix, accounts, upstreamUrl: sandbox.url });
    const client = openProduct(env);
    rig.onClose(() => client.close());
    workers = rig.track(startProductWorkers(1, env));
    await allReady(workers);
    send = (shipment) => client.service.producer.ship(shipment);
  } else {
    const bare = openBareQueue(prefix);
    rig.onClose(() => bare.close());
    workers = startBareWorkers(1, {
      prefix,
      accounts,
      upstreamUrl: sandbox.url,
      concurrency: 50,
      client: 'ky',
      limiter: kind === 'bottleneck' ? 'bottleneck' : 'none',
      minTime: 100,
    });
    await allReady(rig.track(workers));
    send = (shipment) => {
      const { name, data, opts } = bareJob(shipment);
      return bare.queue.add(name, data, opts);
    };
  }

  const sentAt = new Map<string, number>();
  const total = WARMUP_JOBS + JOBS;
  const start = now();
  for (let i = 0; i < total; i++) {
    const shipment = nextShipment(accounts[i % accounts.length]!.id);
    if (i >= WARMUP_JOBS) sentAt.set(shipment.tid, now());
    await send(shipment);
    // Paced by the clock, not by the enqueue's own duration.
    await sleep(Math.max(0, start + (i + 1) * SPACING_MS - now()));
  }
  const arrived = await pollUntil(
    async () => ((await sandbox.control.report()).calls >= total ? true : undefined),
    10_000,
    100,
  );
  const calls = await sandbox.control.calls();
  await rig.stop(workers);
  await rig.clean(prefix);
  if (!arrived) throw new Error(`${LABEL[kind]}: ${calls.length}/${total} calls reached the sandbox`);
  const latencies: number[] = [];
  for (const call of calls) {
    const sent = call.orderKey === null ? undefined : sentAt.get(call.orderKey);
    if (sent !== undefined) latencies.push(call.at - sent);
  }
  if (latencies.length !== JOBS) throw new Error(`${LABEL[kind]}: matched ${latencies.length}/${JOBS} calls`);
  const result = {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: Math.max(...latencies),
    mean: latencies.reduce((a, b) => a + b, 0) / latencies.length,
  };
  ctx.log(`latency: ${LABEL[kind]} p50 ${fmt(result.p50, 1)} ms, p99 ${fmt(result.p99, 1)} ms`);
  return result;
}
