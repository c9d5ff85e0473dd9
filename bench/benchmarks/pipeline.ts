import type { Queue } from 'bullmq';
import { addBulkInChunks, openBareQueue, startBareWorkers } from '../baselines/bare.js';
import { type BenchAccount, makeAccounts } from '../lib/accounts.js';
import { allReady, type Child } from '../lib/children.js';
import type { BenchContext, Benchmark } from '../lib/context.js';
import { interleaved } from '../lib/payloads.js';
import { enqueueWithBatch, openProduct, productEnv, startProductWorkers } from '../lib/product.js';
import { type Rig, withRig } from '../lib/rig.js';
import { cpuBetween, cpuSnapshot, totalCompleted } from '../lib/sampling.js';
import { type SandboxProcess, startSandboxProcess } from '../lib/sandbox-process.js';
import { fmt, met, type Row, ratio } from '../lib/table.js';
import { now, pollUntil } from '../lib/time.js';

export const JOBS = 20_000;
export const ACCOUNTS = 10;
/** "A very high limit": the limiter is in the path but never makes a job wait. */
export const HIGH_RATE = 1_000_000;
const CONCURRENCY = 50;
/** Per variant; a slower run is measured over what it completed in this time. */
const TIMEOUT_MS = 25_000;

type VariantKind = 'product' | 'ky' | 'fetch';

export interface Measured {
  readonly jobsPerSecond: number;
  readonly seconds: number;
  /** JOBS, or fewer when the run hit TIMEOUT_MS. */
  readonly completed: number;
  readonly workerCpuMsPerJob: number;
  readonly redisCpuMsPerJob: number;
  readonly sandboxCpuMsPerJob: number;
  readonly workerCores: number;
  readonly redisCores: number;
  readonly sandboxCores: number;
}

const LABEL: Record<VariantKind, string> = {
  product: 'product',
  ky: 'bare BullMQ + ky',
  fetch: 'bare BullMQ + fetch',
};

/**
 * 20,000 jobs with no limit in the way: the whole product path (validation, idempotency, limiter gate,
 * ledger, outcome, marker) against bare BullMQ workers making the same ky call (and fetch, the thinner
 * ceiling) to the same sandbox, same concurrency. One benchmark per process count, so each stays
 * within its 2 minutes; `npm run bench -- pipeline` runs both.
 */
export function pipelineBench(processes: 1 | 2): Benchmark {
  const where = `${processes} worker process${processes === 1 ? '' : 'es'}`;
  const bench: Benchmark = {
    name: `pipeline-${processes}`,
    title: `${fmt(JOBS)} jobs, no effective limit, concurrency ${CONCURRENCY}, ${where}`,
    run: (ctx) =>
      withRig(ctx, async (rig) => {
        const accounts = makeAccounts('x', ACCOUNTS, HIGH_RATE);
        const sandbox = await startSandboxProcess(accounts, 1e9);
        rig.track(sandbox.child);
        const results: Partial<Record<VariantKind, Measured>> = {};
        for (const kind of ['product', 'ky', 'fetch'] as const) {
          results[kind] = await measure(ctx, rig, sandbox, accounts, kind, processes);
          await sandbox.control.reset();
        }
        const p = results.product!;
        const ky = results.ky!;
        const fetch = results.fetch!;
        const rows: Row[] = [
          {
            metric: 'jobs/s',
            product: jobsCell(p),
            baseline: `${LABEL.ky}: ${jobsCell(ky)}`,
            ratio: ratio(p.jobsPerSecond, ky.jobsPerSecond),
            goal: '≥ 0.8',
            met: met(p.jobsPerSecond >= 0.8 * ky.jobsPerSecond),
          },
          {
            metric: 'jobs/s',
            product: jobsCell(p),
            baseline: `${LABEL.fetch}: ${jobsCell(fetch)}`,
            ratio: ratio(p.jobsPerSecond, fetch.jobsPerSecond),
            goal: '(report)',
            met: '',
          },
          {
            metric: 'worker CPU per job',
            product: `${fmt(p.workerCpuMsPerJob, 2)} ms`,
            baseline: `${LABEL.ky}: ${fmt(ky.workerCpuMsPerJob, 2)} ms`,
            ratio: ratio(p.workerCpuMsPerJob, ky.workerCpuMsPerJob),
            goal: '',
            met: '',
          },
          {
            metric: 'Redis CPU per job',
            product: `${fmt(p.redisCpuMsPerJob, 2)} ms`,
            baseline: `${LABEL.ky}: ${fmt(ky.redisCpuMsPerJob, 2)} ms`,
            ratio: ratio(p.redisCpuMsPerJob, ky.redisCpuMsPerJob),
            goal: '',
            met: '',
          },
        ];
        const busy = (kind: VariantKind) => {
          const m = results[kind]!;
          return `${LABEL[kind]}: workers ${fmt(m.workerCores, 2)}, Redis ${fmt(m.redisCores, 2)}, sandbox ${fmt(m.sandboxCores, 2)}`;
        };
        return {
          name: bench.name,
          title: bench.title,
          rows,
          notes: [
            `${ACCOUNTS} accounts configured at ${fmt(HIGH_RATE)}/s (sandbox limit raised likewise); every job ships a fresh order (all answered code 0, checked).`,
            'Jobs wait in a paused queue while the workers start; the clock runs from resume to the last completion.',
            'The bare workers keep the product’s job options (same ids, attempts, retention), so both sides do the same BullMQ bookkeeping.',
            `Cores busy: ${(['product', 'ky', 'fetch'] as const).map(busy).join('; ')}.`,
            `Worker CPU per job with fetch: ${fmt(fetch.workerCpuMsPerJob, 2)} ms; sandbox CPU per call ≈ ${fmt(ky.sandboxCpuMsPerJob, 2)} ms.`,
          ],
          raw: { jobs: JOBS, accounts: ACCOUNTS, concurrency: CONCURRENCY, processes, results },
        };
      }),
  };
  return bench;
}

export async function measure(
  ctx: BenchContext,
  rig: Rig,
  sandbox: SandboxProcess,
  accounts: readonly BenchAccount[],
  kind: VariantKind,
  processes: number,
  /** More settings for the product's processes (webhooks on, say). */
  extraEnv: Record<string, string> = {},
  /** Product processes to run beside the workers, on the same prefix (the records sink, say). */
  beside: (env: Record<string, string>) => Child[] = () => [],
): Promise<Measured> {
  const prefix = rig.prefix(`pipe-${kind}${processes}`);
  const shipments = interleaved(
    accounts.map((account) => account.id),
    JOBS / ACCOUNTS,
  );
  let queue: Queue;
  let workers: Child[];
  let besides: Child[] = [];
  if (kind === 'product') {
    const env = {
      ...productEnv({ prefix, accounts, upstreamUrl: sandbox.url, concurrency: CONCURRENCY }),
      ...extraEnv,
    };
    const client = openProduct(env);
    rig.onClose(() => client.close());
    queue = client.service.queues.ship;
    await queue.pause();
    await enqueueWithBatch(client.service, shipments);
    besides = rig.track(beside(env));
    await allReady(besides);
    workers = rig.track(startProductWorkers(processes, env));
  } else {
    const bare = openBareQueue(prefix);
    rig.onClose(() => bare.close());
    queue = bare.queue;
    await queue.pause();
    await addBulkInChunks(queue, shipments);
    workers = rig.track(
      startBareWorkers(processes, {
        prefix,
        accounts,
        upstreamUrl: sandbox.url,
        concurrency: CONCURRENCY,
        client: kind,
        limiter: 'none',
      }),
    );
  }
  await allReady(workers);
  const watched = [...workers, sandbox.child];
  const from = await cpuSnapshot(watched, ctx.redis);
  const start = now();
  await queue.resume();
  const done = await pollUntil(
    async () => {
      const stats = await Promise.all(workers.map((worker) => worker.stats()));
      return totalCompleted(stats) >= JOBS ? stats : undefined;
    },
    TIMEOUT_MS,
    100,
  );
  const to = await cpuSnapshot(watched, ctx.redis);
  // A run that cannot finish in time is measured over what it did: the bench stays bounded.
  const finished = done ?? to.stats.slice(0, -1);
  const completed = totalCompleted(finished);
  const end = done === undefined ? to.at : Math.max(...done.map((stats) => stats.lastCompletedAt));
  const report = await sandbox.control.report();
  await rig.stop([...workers, ...besides]);
  await rig.clean(prefix);
  if (report.charged !== report.calls || report.calls < completed) {
    throw new Error(
      `${LABEL[kind]}: sandbox saw ${report.calls} calls, ${report.charged} charged, for ${completed} completed jobs`,
    );
  }
  const cpu = cpuBetween(from, to);
  const sandboxMs = sandboxCpuMs(from.stats.at(-1)!, to.stats.at(-1)!);
  const workerMs = cpu.childrenMs - sandboxMs;
  const seconds = (end - start) / 1000;
  ctx.log(`pipeline: ${LABEL[kind]} × ${processes}: ${fmt(completed / seconds)} jobs/s (${completed} jobs)`);
  return {
    jobsPerSecond: completed / seconds,
    seconds,
    completed,
    workerCpuMsPerJob: workerMs / completed,
    redisCpuMsPerJob: cpu.redisMs / completed,
    sandboxCpuMsPerJob: sandboxMs / completed,
    workerCores: workerMs / cpu.wallMs,
    redisCores: cpu.redisCores,
    sandboxCores: sandboxMs / cpu.wallMs,
  };
}

function sandboxCpuMs(
  from: { cpuUserUs: number; cpuSystemUs: number },
  to: { cpuUserUs: number; cpuSystemUs: number },
): number {
  return (to.cpuUserUs + to.cpuSystemUs - from.cpuUserUs - from.cpuSystemUs) / 1000;
}

/** jobs/s, flagged when the run did not finish its jobs in time. */
function jobsCell(m: Measured): string {
  return m.completed < JOBS
    ? `${fmt(m.jobsPerSecond)} (only ${fmt(m.completed)} done in ${TIMEOUT_MS / 1000} s)`
    : fmt(m.jobsPerSecond);
}
