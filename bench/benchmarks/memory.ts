import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { addBulkInChunks, openBareQueue, startBareWorkers } from '../baselines/bare.js';
import { type BenchAccount, makeAccounts } from '../lib/accounts.js';
import { allReady, type Child } from '../lib/children.js';
import type { BenchContext, Benchmark } from '../lib/context.js';
import { interleaved, type Shipment } from '../lib/payloads.js';
import { enqueueWithBatch, openProduct, productEnv, startProductWorkers } from '../lib/product.js';
import { memoryOfKeys, usedMemory } from '../lib/redis.js';
import { type Rig, withRig } from '../lib/rig.js';
import { totalCompleted } from '../lib/sampling.js';
import { startSandboxProcess } from '../lib/sandbox-process.js';
import { fmt, mb, met, type Row, ratio } from '../lib/table.js';
import { now, pollUntil, sleep } from '../lib/time.js';

const WAITING = 100_000;
const PAYLOAD_BYTES = 200;
const ACCOUNTS = 100;
const RSS_WINDOW_MS = 12_000;
const DONE_JOBS = 5_000;
const DONE_CAP_MS = 30_000;
const WEEK_SHIPMENTS = 7_000_000;
/**
 * V8 keeps garbage until it needs the room: a busy worker's RSS grows far past its live heap (about
 * 35 MB). These limits make it collect sooner (more, shorter GC pauses).
 */
const HEAP_CAP = '--max-old-space-size=64 --max-semi-space-size=4';
const CAPPED_WINDOW_MS = 8_000;

/** Bytes under a prefix by kind of key. */
type Breakdown = Map<string, { keys: number; bytes: number }>;

/**
 * Memory: a worker's RSS with 100,000 waiting jobs; Redis bytes per waiting job (200-byte payload);
 * Redis bytes per shipment remembered for idempotency after completion; and from those, the Redis
 * budget of a week at 1 million shipments a day.
 */
export const memory: Benchmark = {
  name: 'memory',
  title: `${fmt(WAITING)} waiting jobs (${PAYLOAD_BYTES}-byte payloads); ${fmt(DONE_JOBS)} completed shipments`,
  run: (ctx) =>
    withRig(ctx, async (rig) => {
      const slow = makeAccounts('w', ACCOUNTS, 10);
      const fast = makeAccounts('d', 10, 1_000_000);
      const sandbox = await startSandboxProcess([...slow, ...fast], 1e9);
      rig.track(sandbox.child);
      const ids = slow.map((account) => account.id);

      // Product: 100,000 waiting jobs through the library, then one worker on them (accounts at 10/s);
      // then the same with V8's heap capped (the deployment knob for memory-tight hosts), fresh jobs.
      const productRun = (tag: string, workerEnv: Record<string, string>, windowMs: number) =>
        productUnderLoad(ctx, rig, { tag, accounts: slow, upstreamUrl: sandbox.url, workerEnv, windowMs });
      const product = await productRun('product', {}, RSS_WINDOW_MS);
      const productWaiting = product.waiting;
      const productRss = product.rss;
      const productLeft = product.left;
      const cappedRss = (
        await productRun('product (heap capped)', { NODE_OPTIONS: HEAP_CAP }, CAPPED_WINDOW_MS)
      ).rss;

      // Bare BullMQ: the same jobs (same ids and options) by addBulk, a bare ky worker on them.
      const barePrefix = rig.prefix('mem-bare');
      const bare = openBareQueue(barePrefix);
      rig.onClose(() => bare.close());
      ctx.log(`memory: bare enqueueing ${fmt(WAITING)}`);
      await bare.queue.pause();
      await addBulkInChunks(bare.queue, interleaved(ids, WAITING / ACCOUNTS, PAYLOAD_BYTES));
      const bareWaiting = await breakdown(ctx.redis, barePrefix);
      const bareWorkers = startBareWorkers(1, {
        prefix: barePrefix,
        accounts: slow,
        upstreamUrl: sandbox.url,
        concurrency: 50,
        client: 'ky',
        limiter: 'none',
      });
      const bareRss = await rssUnderLoad(ctx, rig, bare.queue, bareWorkers, 'bare');
      const bareLeft = await bare.queue.getWaitingCount();
      await rig.clean(barePrefix);

      // After completion: what stays in Redis per shipment once its job is done and gone.
      const done = await completedShipments(ctx, rig, fast, sandbox.url);

      const perWaitingProduct = total(productWaiting) / WAITING;
      const perWaitingBare = total(bareWaiting) / WAITING;
      const claims = productWaiting.get('idempotency markers')?.bytes ?? 0;
      // Markers at what the server spends on them (with expiry entry), the ledger at its collections' size.
      const weekBytes =
        WEEK_SHIPMENTS * (done.markerServerBytes + done.ledgerBytesPerEntry) + done.fixedBytes;
      const rows: Row[] = [
        {
          metric: `worker RSS, working on ~${fmt(WAITING)} waiting (peak over ${RSS_WINDOW_MS / 1000} s)`,
          product: mb(productRss.peak),
          baseline: `bare BullMQ + ky: ${mb(bareRss.peak)}`,
          ratio: ratio(productRss.peak, bareRss.peak),
          goal: '< 120 MB',
          met: met(productRss.peak < 120e6),
        },
        {
          metric: `same, heap capped: NODE_OPTIONS='${HEAP_CAP}' (peak over ${CAPPED_WINDOW_MS / 1000} s)`,
          product: mb(cappedRss.peak),
          baseline: '—',
          ratio: '—',
          goal: '< 120 MB',
          met: met(cappedRss.peak < 120e6),
        },
        {
          metric: `worker RSS, idle with ${fmt(WAITING)} waiting`,
          product: mb(productRss.idle),
          baseline: `bare BullMQ + ky: ${mb(bareRss.idle)}`,
          ratio: ratio(productRss.idle, bareRss.idle),
          goal: '< 120 MB',
          met: met(productRss.idle < 120e6),
        },
        {
          metric: `Redis bytes per waiting job (${PAYLOAD_BYTES} B payload)`,
          product: `${fmt(perWaitingProduct)} B`,
          baseline: `bare BullMQ addBulk: ${fmt(perWaitingBare)} B`,
          ratio: ratio(perWaitingProduct, perWaitingBare),
          goal: '(report)',
          met: '',
        },
        {
          metric: 'Redis bytes per shipment remembered for idempotency after completion',
          product: `${fmt(done.markerBytes)} B`,
          baseline: `a completed BullMQ job kept whole: ${fmt(done.completedJobBytes)} B`,
          ratio: ratio(done.markerBytes, done.completedJobBytes),
          goal: '≤ 200 B',
          met: met(done.markerBytes <= 200),
        },
        {
          metric: 'same, as the server counts it (used_memory: with expiry entry and dict slots)',
          product: `${fmt(done.markerServerBytes)} B`,
          baseline: '—',
          ratio: '—',
          goal: '≤ 200 B',
          met: met(done.markerServerBytes <= 200),
        },
        {
          metric: 'Redis bytes per ledger entry (kept until exported and trimmed)',
          product: `${fmt(done.ledgerBytesPerEntry)} B`,
          baseline: '—',
          ratio: '—',
          goal: '(report)',
          met: '',
        },
        {
          metric: 'Redis for a week at 1 M shipments/day (markers + ledger + fixed)',
          product: mb(weekBytes),
          baseline: `completed jobs kept whole, no ledger: ${mb(WEEK_SHIPMENTS * done.completedJobBytes)}`,
          ratio: '—',
          goal: '(report)',
          met: '',
        },
      ];
      return {
        name: 'memory',
        title: memory.title,
        rows,
        notes: [
          `Redis bytes are MEMORY USAGE (SAMPLES 0) summed over the run's keys, so other clients of this Redis do not disturb them; per-key dictionary and expiry overhead of the server is not in them.`,
          `Of the product's bytes per waiting job, ${fmt(claims / WAITING)} B are its 30 s enqueue claims (idempotency markers 'c'), gone half a minute later: steady state ≈ ${fmt((total(productWaiting) - claims) / WAITING)} B.`,
          `RSS: one worker process (concurrency 50) working on the backlog for ${RSS_WINDOW_MS / 1000} s, sampled every 500 ms; product jobs on ${ACCOUNTS} accounts at 10/s (${fmt(productLeft)} still waiting at the end), bare worker unlimited (${fmt(bareLeft)} still waiting). Final RSS: product ${mb(productRss.last)}, bare ${mb(bareRss.last)}; peak V8 heap used: product ${mb(productRss.peakHeapUsed)}, bare ${mb(bareRss.peakHeapUsed)}, product with its heap capped ${mb(cappedRss.peakHeapUsed)}.`,
          'Worker processes (product and baseline alike) run as compiled JavaScript with plain node, as a deployment does (npm run build, npm run worker:ship:prod); under tsx each would carry about 35 MB more.',
          `After completion: ${fmt(done.completed)} shipments done by one product worker; marker ${fmt(done.markerBytes)} B by MEMORY USAGE, ${fmt(done.markerServerBytes)} B of used_memory (from ${fmt(CALIBRATION_KEYS)} copies; expires after IDEMPOTENCY_RETENTION_DAYS), ledger ${fmt(done.ledgerBytesPerEntry)} B per entry (no expiry), fixed ${mb(done.fixedBytes)} (up to 1,000 completed jobs kept for the dashboard, events stream, queue metadata).`,
          `A week at 1 M/day: 7 M markers and 7 M ledger entries; the ledger keeps growing by ${mb(1_000_000 * done.ledgerBytesPerEntry)} a day unless exported and trimmed.`,
        ],
        raw: {
          productWaiting: Object.fromEntries(productWaiting),
          bareWaiting: Object.fromEntries(bareWaiting),
          productRss,
          cappedRss,
          bareRss,
          done,
        },
      };
    }),
};

/**
 * 100,000 jobs enqueued through the library into a paused queue of a fresh prefix, their Redis bytes,
 * then one product worker (with `workerEnv` added) on them for `windowMs`; keys cleaned after.
 */
async function productUnderLoad(
  ctx: BenchContext,
  rig: Rig,
  o: {
    readonly tag: string;
    readonly accounts: readonly BenchAccount[];
    readonly upstreamUrl: string;
    readonly workerEnv: Record<string, string>;
    readonly windowMs: number;
  },
): Promise<{ waiting: Breakdown; rss: RssReading; left: number }> {
  const prefix = rig.prefix(`mem-${o.tag.replace(/\W+/g, '-')}`);
  const env = productEnv({ prefix, accounts: o.accounts, upstreamUrl: o.upstreamUrl });
  const client = openProduct(env);
  rig.onClose(() => client.close());
  const queue = client.service.queues.ship;
  ctx.log(`memory: ${o.tag} enqueueing ${fmt(WAITING)}`);
  const ids = o.accounts.map((account) => account.id);
  await queue.pause();
  await enqueueWithBatch(client.service, interleaved(ids, WAITING / o.accounts.length, PAYLOAD_BYTES));
  const waiting = await breakdown(ctx.redis, prefix);
  const workers = startProductWorkers(1, { ...env, ...o.workerEnv });
  const rss = await rssUnderLoad(ctx, rig, queue, workers, o.tag, o.windowMs);
  const left = await queue.getWaitingCount();
  await rig.clean(prefix);
  return { waiting, rss, left };
}

interface RssReading {
  /** RSS once started, the queue still paused: the 100,000 jobs wait, none is being worked on. */
  readonly idle: number;
  readonly peak: number;
  readonly last: number;
  readonly peakHeapUsed: number;
  readonly samples: number[];
}

/** Starts `workers` on a paused queue, reads their idle RSS, resumes, and samples RSS while they work. */
async function rssUnderLoad(
  ctx: BenchContext,
  rig: Rig,
  queue: Queue,
  workers: Child[],
  tag: string,
  windowMs = RSS_WINDOW_MS,
): Promise<RssReading> {
  rig.track(workers);
  await allReady(workers);
  await sleep(1_000);
  const idle = (await workers[0]!.stats()).rss;
  await queue.resume();
  ctx.log(`memory: ${tag} worker RSS for ${windowMs / 1000} s`);
  const samples: number[] = [];
  let peakHeapUsed = 0;
  const end = now() + windowMs;
  while (now() < end) {
    const stats = await workers[0]!.stats();
    samples.push(stats.rss);
    peakHeapUsed = Math.max(peakHeapUsed, stats.heapUsed);
    await sleep(500);
  }
  await rig.stop(workers);
  return { idle, peak: Math.max(...samples), last: samples.at(-1)!, peakHeapUsed, samples };
}

async function completedShipments(
  ctx: BenchContext,
  rig: Rig,
  accounts: readonly BenchAccount[],
  upstreamUrl: string,
) {
  const prefix = rig.prefix('mem-done');
  const env = productEnv({ prefix, accounts, upstreamUrl });
  const client = openProduct(env);
  rig.onClose(() => client.close());
  const shipments: Shipment[] = interleaved(
    accounts.map((account) => account.id),
    DONE_JOBS / accounts.length,
    PAYLOAD_BYTES,
  );
  await enqueueWithBatch(client.service, shipments);
  const workers = rig.track(startProductWorkers(1, env));
  await allReady(workers);
  ctx.log(`memory: product completing ${fmt(DONE_JOBS)} shipments`);
  await pollUntil(
    async () => (totalCompleted([await workers[0]!.stats()]) >= DONE_JOBS ? true : undefined),
    DONE_CAP_MS,
    200,
  );
  const completed = totalCompleted([await workers[0]!.stats()]);
  await rig.stop(workers);
  const parts = await breakdown(ctx.redis, prefix);
  // Done markers only ('d|…'): claims of jobs not finished within the cap are left out.
  const { average: markerBytes, sample } = await averageMarkerBytes(ctx.redis, prefix);
  const markerServerBytes = sample ? await serverBytesPerKey(ctx.redis, sample) : Number.NaN;
  const entries = await ctx.redis.hlen(`${prefix}:ledger:entries`);
  const ledger = parts.get('ledger')?.bytes ?? 0;
  const jobs = parts.get('job hashes') ?? { keys: 0, bytes: 0 };
  const completedSet = parts.get('queue ship:completed') ?? { keys: 0, bytes: 0 };
  const retained = await ctx.redis.zcard(`${prefix}:ship:completed`);
  const fixedBytes = total(parts) - (parts.get('idempotency markers')?.bytes ?? 0) - ledger;
  await rig.clean(prefix);
  return {
    completed,
    markerBytes,
    markerServerBytes,
    ledgerBytesPerEntry: entries === 0 ? 0 : ledger / entries,
    completedJobBytes:
      jobs.keys === 0 ? 0 : jobs.bytes / jobs.keys + (retained === 0 ? 0 : completedSet.bytes / retained),
    fixedBytes,
    parts: Object.fromEntries(parts),
  };
}

interface KeySample {
  readonly key: string;
  readonly value: string;
  readonly ttlMs: number;
}

/** MEMORY USAGE of the done markers ('d|…') under `prefix`, on average, and one of them as a sample. */
async function averageMarkerBytes(
  redis: Redis,
  prefix: string,
): Promise<{ average: number; sample: KeySample | null }> {
  let bytes = 0;
  let count = 0;
  let sample: KeySample | null = null;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:idem:*`, 'COUNT', 2000);
    cursor = next;
    if (keys.length === 0) continue;
    const pipeline = redis.pipeline();
    for (const key of keys) {
      pipeline.get(key);
      pipeline.memory('USAGE', key, 'SAMPLES', 0);
      pipeline.pttl(key);
    }
    const replies = (await pipeline.exec()) ?? [];
    for (let i = 0; i < keys.length; i++) {
      const value = replies[3 * i]?.[1];
      if (typeof value === 'string' && value.startsWith('d|')) {
        bytes += Number(replies[3 * i + 1]?.[1] ?? 0);
        count += 1;
        sample ??= { key: keys[i]!, value, ttlMs: Number(replies[3 * i + 2]?.[1] ?? 0) };
      }
    }
  } while (cursor !== '0');
  return { average: count === 0 ? Number.NaN : bytes / count, sample };
}

/** Copies of the sample key written to measure what Redis itself spends per key (used_memory). */
const CALIBRATION_KEYS = 100_000;

/**
 * What one key like `sample` costs the server, from INFO used_memory around writing 100,000 copies of
 * the same length and TTL: MEMORY USAGE leaves out the expiry entry and the dictionary's slots.
 * Copies live under `:idex:` beside `:idem:` (same length, same prefix, deleted with it).
 */
async function serverBytesPerKey(redis: Redis, sample: KeySample): Promise<number> {
  const at = sample.key.lastIndexOf(':idem:');
  const head = `${sample.key.slice(0, at)}:idex:`;
  const tail = sample.key.slice(at + ':idem:'.length);
  const before = await usedMemory(redis);
  for (let i = 0; i < CALIBRATION_KEYS; i += 1000) {
    const pipeline = redis.pipeline();
    for (let j = i; j < i + 1000; j++) {
      const counter = String(j).padStart(9, '0');
      const key = `${head}${tail.slice(0, -counter.length)}${counter}`;
      pipeline.set(key, sample.value, 'PX', Math.max(60_000, sample.ttlMs));
    }
    await pipeline.exec();
  }
  const after = await usedMemory(redis);
  return (after - before) / CALIBRATION_KEYS;
}

/** Bytes under `prefix` grouped by what the key is. */
function breakdown(redis: Redis, prefix: string): Promise<Breakdown> {
  return memoryOfKeys(redis, `${prefix}:*`, (key) => {
    const rest = key.slice(prefix.length + 1);
    if (rest.startsWith('idem:')) return 'idempotency markers';
    if (rest.startsWith('ledger:')) return 'ledger';
    if (rest.startsWith('acct:')) return 'limiter';
    if (rest.startsWith('ship:vvtool.')) return 'job hashes';
    return `queue ${rest}`;
  });
}

function total(parts: Breakdown): number {
  let bytes = 0;
  for (const part of parts.values()) bytes += part.bytes;
  return bytes;
}
