import { addBulkInChunks, addConcurrently, openBareQueue } from '../baselines/bare.js';
import { makeAccounts } from '../lib/accounts.js';
import { startApiProcess } from '../lib/api-process.js';
import type { BenchContext, Benchmark } from '../lib/context.js';
import { interleaved, type Shipment } from '../lib/payloads.js';
import { enqueueWithBatch, openProduct, productEnv } from '../lib/product.js';
import { redisCpuSeconds } from '../lib/redis.js';
import { type Rig, withRig } from '../lib/rig.js';
import { fmt, met, type Row, ratio } from '../lib/table.js';
import { now } from '../lib/time.js';

const JOBS = 50_000;
const CHUNK = 1_000;
const ACCOUNTS = 10;
/** In-flight `Queue.add` calls of the second baseline. */
const ADD_IN_FLIGHT = 50;

interface Measured {
  readonly jobsPerSecond: number;
  readonly seconds: number;
  readonly redisCpuMsPer1000: number;
  /** CPU of the enqueueing process (this one, or the API process for HTTP) per 1,000 jobs. */
  readonly producerCpuMsPer1000: number;
}

/**
 * 50,000 jobs onto an empty queue: the library's `batch` and HTTP `POST /v1/batch` (1,000 jobs a call,
 * one call at a time) against BullMQ `addBulk` in the same chunks, and 50 concurrent `Queue.add`.
 */
export const enqueue: Benchmark = {
  name: 'enqueue',
  title: `${fmt(JOBS)} jobs enqueued, ${fmt(CHUNK)} per call`,
  run: (ctx) =>
    withRig(ctx, async (rig) => {
      const accounts = makeAccounts('e', ACCOUNTS, 10);
      const ids = accounts.map((account) => account.id);
      const fresh = () => interleaved(ids, JOBS / ACCOUNTS);

      const addBulk = await timed(
        ctx,
        rig,
        'addBulk',
        async (prefix, shipments) => {
          const bare = openBareQueue(prefix);
          try {
            return await time(ctx, () => addBulkInChunks(bare.queue, shipments));
          } finally {
            await bare.close();
          }
        },
        fresh(),
      );
      const add = await timed(
        ctx,
        rig,
        'queue-add',
        async (prefix, shipments) => {
          const bare = openBareQueue(prefix);
          try {
            return await time(ctx, () => addConcurrently(bare.queue, shipments, ADD_IN_FLIGHT));
          } finally {
            await bare.close();
          }
        },
        fresh(),
      );
      const library = await timed(
        ctx,
        rig,
        'library',
        async (prefix, shipments) => {
          const client = openProduct(productEnv({ prefix, accounts, upstreamUrl: 'http://127.0.0.1:9' }));
          try {
            return await time(ctx, () => enqueueWithBatch(client.service, shipments, CHUNK));
          } finally {
            await client.close();
          }
        },
        fresh(),
      );
      const http = await timed(
        ctx,
        rig,
        'http',
        async (prefix, shipments) => {
          const api = await startApiProcess(
            productEnv({ prefix, accounts, upstreamUrl: 'http://127.0.0.1:9' }),
          );
          try {
            // Bodies are serialised before the clock starts: the client's JSON work is not the product's.
            const bodies: string[] = [];
            for (let i = 0; i < shipments.length; i += CHUNK) {
              bodies.push(
                JSON.stringify({ jobs: shipments.slice(i, i + CHUNK).map((s) => ({ type: 'ship', ...s })) }),
              );
            }
            // The work is the API process's: its CPU, not this one's.
            const apiCpuMs = async () => {
              const stats = await api.child.stats();
              return cpuMs({ user: stats.cpuUserUs, system: stats.cpuSystemUs });
            };
            return await time(
              ctx,
              async () => {
                for (const body of bodies) {
                  const response = await fetch(`${api.url}/v1/batch`, {
                    method: 'POST',
                    headers: { 'content-type': 'application/json', authorization: `Bearer ${api.apiKey}` },
                    body,
                  });
                  const text = await response.text();
                  if (response.status !== 202) {
                    throw new Error(`POST /v1/batch answered ${response.status}: ${text.slice(0, 300)}`);
                  }
                }
              },
              apiCpuMs,
            );
          } finally {
            await api.child.stop();
          }
        },
        fresh(),
      );

      const rows: Row[] = [
        {
          metric: 'jobs/s, library batch',
          product: fmt(library.jobsPerSecond),
          baseline: `addBulk: ${fmt(addBulk.jobsPerSecond)}`,
          ratio: ratio(library.jobsPerSecond, addBulk.jobsPerSecond),
          goal: '≥ 0.9',
          met: met(library.jobsPerSecond >= 0.9 * addBulk.jobsPerSecond),
        },
        {
          metric: 'jobs/s, HTTP POST /v1/batch',
          product: fmt(http.jobsPerSecond),
          baseline: `addBulk: ${fmt(addBulk.jobsPerSecond)}`,
          ratio: ratio(http.jobsPerSecond, addBulk.jobsPerSecond),
          goal: '≥ 0.5',
          met: met(http.jobsPerSecond >= 0.5 * addBulk.jobsPerSecond),
        },
        {
          metric: 'jobs/s, library batch',
          product: fmt(library.jobsPerSecond),
          baseline: `${ADD_IN_FLIGHT} concurrent Queue.add: ${fmt(add.jobsPerSecond)}`,
          ratio: ratio(library.jobsPerSecond, add.jobsPerSecond),
          goal: '(report)',
          met: '',
        },
        {
          metric: 'producer CPU per 1,000 jobs, library batch',
          product: `${fmt(library.producerCpuMsPer1000)} ms`,
          baseline: `addBulk: ${fmt(addBulk.producerCpuMsPer1000)} ms`,
          ratio: ratio(library.producerCpuMsPer1000, addBulk.producerCpuMsPer1000),
          goal: '',
          met: '',
        },
        {
          metric: 'API process CPU per 1,000 jobs, HTTP',
          product: `${fmt(http.producerCpuMsPer1000)} ms`,
          baseline: `addBulk: ${fmt(addBulk.producerCpuMsPer1000)} ms`,
          ratio: ratio(http.producerCpuMsPer1000, addBulk.producerCpuMsPer1000),
          goal: '',
          met: '',
        },
        {
          metric: 'Redis CPU per 1,000 jobs, library batch',
          product: `${fmt(library.redisCpuMsPer1000)} ms`,
          baseline: `addBulk: ${fmt(addBulk.redisCpuMsPer1000)} ms`,
          ratio: ratio(library.redisCpuMsPer1000, addBulk.redisCpuMsPer1000),
          goal: '',
          met: '',
        },
        {
          metric: 'Redis CPU per 1,000 jobs, HTTP',
          product: `${fmt(http.redisCpuMsPer1000)} ms`,
          baseline: `addBulk: ${fmt(addBulk.redisCpuMsPer1000)} ms`,
          ratio: ratio(http.redisCpuMsPer1000, addBulk.redisCpuMsPer1000),
          goal: '',
          met: '',
        },
      ];
      return {
        name: 'enqueue',
        title: enqueue.title,
        rows,
        notes: [
          'Every variant enqueues fresh vvtool.send jobs (ids = idempotency keys, the product’s job options) onto an empty queue of its own prefix; one after another, keys deleted in between.',
          'Library and addBulk run in this process; HTTP goes to the product API in its own process (fetch, keep-alive, one request at a time, bodies serialised beforehand).',
          'The product checks each id (done, dead or queued), adds the new ones as Queue.add would and counts them in their account’s backlog, in one Lua script per batch: idempotency at the door costs no round trip of its own.',
        ],
        raw: { jobs: JOBS, chunk: CHUNK, addBulk, add, library, http },
      };
    }),
};

interface Timing {
  readonly ms: number;
  readonly redisMs: number;
  readonly producerMs: number;
}

type Runner = (prefix: string, shipments: readonly Shipment[]) => Promise<Timing>;

async function timed(
  ctx: BenchContext,
  rig: Rig,
  tag: string,
  runner: Runner,
  shipments: readonly Shipment[],
): Promise<Measured> {
  const prefix = rig.prefix(`enq-${tag}`);
  const { ms, redisMs, producerMs } = await runner(prefix, shipments);
  await rig.clean(prefix);
  const jobsPerSecond = (shipments.length / ms) * 1000;
  ctx.log(`enqueue: ${tag} ${fmt(jobsPerSecond)} jobs/s`);
  return {
    jobsPerSecond,
    seconds: ms / 1000,
    redisCpuMsPer1000: (redisMs / shipments.length) * 1000,
    producerCpuMsPer1000: (producerMs / shipments.length) * 1000,
  };
}

/** Times `body`, with Redis's CPU and the producer's: `producerCpuMs` reads it (default: this process). */
async function time(
  ctx: BenchContext,
  body: () => Promise<void>,
  producerCpuMs: () => Promise<number> = async () => cpuMs(process.cpuUsage()),
): Promise<Timing> {
  const redisBefore = await redisCpuSeconds(ctx.redis);
  const producerBefore = await producerCpuMs();
  const start = now();
  await body();
  const ms = now() - start;
  const producerMs = (await producerCpuMs()) - producerBefore;
  const redisMs = ((await redisCpuSeconds(ctx.redis)) - redisBefore) * 1000;
  return { ms, redisMs, producerMs };
}

function cpuMs(usage: { user: number; system: number }): number {
  return (usage.user + usage.system) / 1000;
}
