import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type BenchAccount, bareAccountsJson } from '../lib/accounts.js';
import { type Child, startChild } from '../lib/children.js';
import type { Shipment } from '../lib/payloads.js';
import { redisUrl } from '../lib/redis.js';
import { bareJob } from './job-options.js';

export interface BareOptions {
  readonly prefix: string;
  readonly accounts: readonly BenchAccount[];
  readonly upstreamUrl: string;
  readonly concurrency: number;
  readonly client: 'ky' | 'fetch';
  readonly limiter: 'none' | 'bottleneck' | 'bullmq';
  readonly minTime?: number;
}

/** `count` bare BullMQ worker processes (see bare-worker.ts). */
export function startBareWorkers(count: number, options: BareOptions, tag = 'bare'): Child[] {
  const env = {
    REDIS_URL: redisUrl(),
    BENCH_PREFIX: options.prefix,
    BENCH_UPSTREAM_URL: options.upstreamUrl,
    BENCH_ACCOUNTS: bareAccountsJson(options.accounts),
    BENCH_CONCURRENCY: String(options.concurrency),
    BENCH_CLIENT: options.client,
    BENCH_LIMITER: options.limiter,
    BENCH_MIN_TIME: String(options.minTime ?? 100),
  };
  return Array.from({ length: count }, (_, index) =>
    startChild(`${tag}-worker-${index + 1}`, 'bench/baselines/bare-worker.ts', env),
  );
}

/** The bare baselines' queue in this process, for enqueueing. */
export interface BareQueue {
  readonly queue: Queue;
  close(): Promise<void>;
}

export function openBareQueue(prefix: string): BareQueue {
  const connection = new Redis(redisUrl(), { maxRetriesPerRequest: null, connectionName: 'bench-bare-q' });
  const queue = new Queue('ship', { connection, prefix });
  return {
    queue,
    async close() {
      await queue.close();
      await connection.quit();
    },
  };
}

/** BullMQ `addBulk` directly, `chunk` jobs per call, one call at a time. */
export async function addBulkInChunks(
  queue: Queue,
  shipments: readonly Shipment[],
  chunk = 1000,
): Promise<void> {
  for (let i = 0; i < shipments.length; i += chunk) {
    await queue.addBulk(shipments.slice(i, i + chunk).map(bareJob));
  }
}

/** `Queue.add` one job at a time, `inFlight` calls outstanding. */
export async function addConcurrently(
  queue: Queue,
  shipments: readonly Shipment[],
  inFlight: number,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < shipments.length) {
      const { name, data, opts } = bareJob(shipments[next++]!);
      await queue.add(name, data, opts);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
}
