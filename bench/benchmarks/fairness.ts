import { addBulkInChunks, openBareQueue, startBareWorkers } from '../baselines/bare.js';
import { makeAccounts } from '../lib/accounts.js';
import { allReady, type Child } from '../lib/children.js';
import type { BenchContext, Benchmark } from '../lib/context.js';
import { interleaved, type Shipment } from '../lib/payloads.js';
import { enqueueWithBatch, openProduct, productEnv, startProductWorkers } from '../lib/product.js';
import type { ChildStats } from '../lib/protocol.js';
import { type Rig, withRig } from '../lib/rig.js';
import { type SandboxProcess, startSandboxProcess } from '../lib/sandbox-process.js';
import { fmt, met, type Row, ratio } from '../lib/table.js';
import { now, pollUntil } from '../lib/time.js';
import { maxPerAccount } from '../lib/window.js';

const RATE = 10;
const BACKLOG_A = 2_000;
const JOBS_B = 20;
const PROCESSES = 2;
/** B's 20 calls at 10/s: the ideal the issue measures against. */
const IDEAL_MS = 2_000;
/** Past this, a run is reported as unfinished: the head-of-line baseline would take minutes. */
const CAP_MS = 30_000;

type VariantKind = 'product' | 'bottleneck';

interface Measured {
  /** From B's enqueue to its last completion, ms; null when B did not finish within CAP_MS. */
  readonly completionMs: number | null;
  readonly completedB: number;
  readonly callsA: number;
  readonly maxWindowB: number;
}

const LABEL: Record<VariantKind, string> = {
  product: 'product',
  bottleneck: 'bare BullMQ + clustered Bottleneck',
};

/**
 * Account A has 2,000 waiting jobs; account B's 20 are enqueued right after them. How long B's jobs take,
 * against the 2 s its own limit needs: the product (which parks a job that would wait, giving its worker
 * slot back) and bare BullMQ workers that wait for Bottleneck inside their slots (head-of-line blocking).
 */
export const fairness: Benchmark = {
  name: 'fairness',
  title: `A with ${fmt(BACKLOG_A)} waiting, then B with ${JOBS_B}; both ${RATE}/s, ${PROCESSES} worker processes`,
  run: (ctx) =>
    withRig(ctx, async (rig) => {
      const [a, b] = makeAccounts('f', 2, RATE) as [
        ReturnType<typeof makeAccounts>[number],
        ReturnType<typeof makeAccounts>[number],
      ];
      const sandbox = await startSandboxProcess([a, b], RATE);
      rig.track(sandbox.child);
      const product = await measure(ctx, rig, sandbox, [a, b], 'product');
      await sandbox.control.reset();
      const bottleneck = await measure(ctx, rig, sandbox, [a, b], 'bottleneck');
      const seconds = (m: Measured) =>
        m.completionMs === null
          ? `> ${CAP_MS / 1000} s (${m.completedB}/${JOBS_B} done)`
          : `${fmt(m.completionMs / 1000, 2)} s`;
      const rows: Row[] = [
        {
          metric: `B's ${JOBS_B} jobs: enqueue → last completed`,
          product: seconds(product),
          baseline: `${LABEL.bottleneck}: ${seconds(bottleneck)}`,
          ratio:
            product.completionMs === null
              ? '—'
              : bottleneck.completionMs === null
                ? `< ${fmt(product.completionMs / CAP_MS, 2)}`
                : ratio(product.completionMs, bottleneck.completionMs),
          goal: `≤ ${(2 * IDEAL_MS) / 1000} s (2× ideal)`,
          met: met(product.completionMs !== null && product.completionMs <= 2 * IDEAL_MS),
        },
        {
          metric: "B's time over its ideal 2 s",
          product: product.completionMs === null ? '—' : `${fmt(product.completionMs / IDEAL_MS, 2)}×`,
          baseline:
            bottleneck.completionMs === null
              ? `${LABEL.bottleneck}: > ${fmt(CAP_MS / IDEAL_MS)}×`
              : `${LABEL.bottleneck}: ${fmt(bottleneck.completionMs / IDEAL_MS, 2)}×`,
          ratio: '—',
          goal: '≤ 2×',
          met: met(product.completionMs !== null && product.completionMs <= 2 * IDEAL_MS),
        },
        {
          metric: 'B: max calls in a sliding 1000 ms',
          product: String(product.maxWindowB),
          baseline: `${LABEL.bottleneck}: ${bottleneck.maxWindowB}`,
          ratio: '—',
          goal: '≤ 10',
          met: met(product.maxWindowB <= RATE),
        },
      ];
      return {
        name: 'fairness',
        title: fairness.title,
        rows,
        notes: [
          `Workers were up (concurrency 50 each) before A's backlog was enqueued; the clock starts when B's batch is sent. A's calls meanwhile: product ${product.callsA}, baseline ${bottleneck.callsA}.`,
          `The baseline is capped at ${CAP_MS / 1000} s: behind A's backlog at 10/s, B would wait about ${fmt(BACKLOG_A / RATE)} s.`,
        ],
        raw: { backlogA: BACKLOG_A, jobsB: JOBS_B, product, bottleneck },
      };
    }),
};

async function measure(
  ctx: BenchContext,
  rig: Rig,
  sandbox: SandboxProcess,
  [a, b]: ReturnType<typeof makeAccounts>,
  kind: VariantKind,
): Promise<Measured> {
  const prefix = rig.prefix(`fair-${kind}`);
  const backlog = interleaved([a!.id], BACKLOG_A);
  const late = interleaved([b!.id], JOBS_B);
  let workers: Child[];
  let enqueue: (shipments: readonly Shipment[]) => Promise<void>;
  if (kind === 'product') {
    const env = productEnv({ prefix, accounts: [a!, b!], upstreamUrl: sandbox.url });
    const client = openProduct(env);
    rig.onClose(() => client.close());
    workers = rig.track(startProductWorkers(PROCESSES, env));
    enqueue = (shipments) => enqueueWithBatch(client.service, shipments);
  } else {
    const bare = openBareQueue(prefix);
    rig.onClose(() => bare.close());
    workers = rig.track(
      startBareWorkers(PROCESSES, {
        prefix,
        accounts: [a!, b!],
        upstreamUrl: sandbox.url,
        concurrency: 50,
        client: 'ky',
        limiter: 'bottleneck',
        minTime: 100,
      }),
    );
    enqueue = (shipments) => addBulkInChunks(bare.queue, shipments);
  }
  await allReady(workers);
  await enqueue(backlog);
  const start = now();
  await enqueue(late);
  const completedB = (stats: readonly ChildStats[]) =>
    stats.reduce((total, s) => total + (s.byAccount[b!.id]?.completed ?? 0), 0);
  const done = await pollUntil(
    async () => {
      const stats = await Promise.all(workers.map((worker) => worker.stats()));
      return completedB(stats) >= JOBS_B ? stats : undefined;
    },
    CAP_MS,
    50,
  );
  const final = done ?? (await Promise.all(workers.map((worker) => worker.stats())));
  const calls = await sandbox.control.calls();
  await rig.stop(workers);
  await rig.clean(prefix);
  const lastB = Math.max(...final.map((s) => s.byAccount[b!.id]?.lastAt ?? 0));
  const result: Measured = {
    completionMs: done === undefined ? null : lastB - start,
    completedB: completedB(final),
    callsA: calls.filter((call) => call.account === a!.id).length,
    maxWindowB: maxPerAccount(calls).get(b!.id) ?? 0,
  };
  ctx.log(
    `fairness: ${LABEL[kind]} B ${result.completionMs === null ? 'unfinished' : `${fmt(result.completionMs)} ms`}`,
  );
  return result;
}
