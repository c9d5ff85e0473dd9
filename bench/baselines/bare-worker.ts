// A bare BullMQ worker process: the same vv-tool call, none of the product around it. Env:
// REDIS_URL, BENCH_PREFIX, BENCH_UPSTREAM_URL, BENCH_ACCOUNTS (JSON [{id, token}]), BENCH_CONCURRENCY,
// BENCH_CLIENT ky|fetch, BENCH_LIMITER none|bottleneck|bullmq, BENCH_MIN_TIME (bottleneck).
import { type Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { serveStats, tellParent } from '../lib/child-side.js';
import { formFields, type Shipment } from '../lib/payloads.js';
import { type ClusteredLimiters, clusteredLimiters } from './bottleneck.js';
import { fetchCall, kyCall } from './http-call.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`bare worker: ${name} is not set`);
  return value;
};

const redisUrl = env('REDIS_URL');
const prefix = env('BENCH_PREFIX');
const upstreamUrl = env('BENCH_UPSTREAM_URL');
const tokens = new Map(
  (JSON.parse(env('BENCH_ACCOUNTS')) as { id: string; token: string }[]).map((a) => [a.id, a.token]),
);
const concurrency = Number(env('BENCH_CONCURRENCY'));
const limiterKind = env('BENCH_LIMITER');
const call = env('BENCH_CLIENT') === 'fetch' ? fetchCall(upstreamUrl, 10_000) : kyCall(upstreamUrl, 10_000);
const limiters: ClusteredLimiters | null =
  limiterKind === 'bottleneck' ? clusteredLimiters(redisUrl, prefix, Number(env('BENCH_MIN_TIME'))) : null;

const connection = new Redis(redisUrl, { maxRetriesPerRequest: null, connectionName: 'bench-bare' });

async function processJob(job: Job<Shipment>): Promise<{ code: number | null }> {
  const token = tokens.get(job.data.account);
  if (token === undefined) throw new Error(`no token for account ${job.data.account}`);
  const fields = formFields(job.data);
  const code = limiters
    ? await limiters.get(job.data.account).schedule(() => call(token, fields))
    : await call(token, fields);
  return { code };
}

const worker = new Worker<Shipment>('ship', processJob, {
  connection,
  prefix,
  concurrency,
  ...(limiterKind === 'bullmq' ? { limiter: { max: 10, duration: 1000 } } : {}),
});
worker.on('error', (err) => process.stderr.write(`bare worker error: ${err.message}\n`));

// Force: jobs queued behind a limiter would otherwise be awaited for many seconds; a benchmark
// that stops its workers has finished measuring, and deletes its keys next.
process.once('SIGTERM', () => {
  void (async () => {
    await worker.close(true);
    await limiters?.disconnect();
    await connection.quit();
    process.exit(0);
  })();
});

serveStats([worker]);
await worker.waitUntilReady();
tellParent({ type: 'ready' });
