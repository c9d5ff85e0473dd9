import { loadConfig } from '../../src/config/index.js';
import { Fulfillment } from '../../src/queues/service.js';
import { connectRedis } from '../../src/runtime/redis.js';
import { type BenchAccount, productAccountsJson } from './accounts.js';
import { type Child, startChild } from './children.js';
import type { Shipment } from './payloads.js';
import { redisUrl } from './redis.js';

export interface ProductEnvOptions {
  readonly prefix: string;
  readonly accounts: readonly BenchAccount[];
  readonly upstreamUrl: string;
  /** WORKER_CONCURRENCY; the product's default (50) when absent. */
  readonly concurrency?: number;
}

/** The environment a product process reads (names as in docs/configuration.md), pointed at the bench's sandbox and prefix. */
export function productEnv(options: ProductEnvOptions): Record<string, string> {
  return {
    REDIS_URL: redisUrl(),
    FULFILLMENT_PREFIX: options.prefix,
    FULFILLMENT_ACCOUNTS: productAccountsJson(options.accounts),
    VVTOOL_BASE_URL: options.upstreamUrl,
    DAMAIJIA_BASE_URL: options.upstreamUrl,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    SHUTDOWN_GRACE_MS: '5000',
    ...(options.concurrency === undefined ? {} : { WORKER_CONCURRENCY: String(options.concurrency) }),
  };
}

/** The product's library in this process, as a producer uses it: config, Redis, the service. */
export interface ProductClient {
  readonly service: Fulfillment;
  close(): Promise<void>;
}

export function openProduct(env: Record<string, string>): ProductClient {
  const config = loadConfig(env, { accounts: true });
  const redis = connectRedis(config, 'bench-producer');
  const service = new Fulfillment(config, redis);
  return {
    service,
    async close() {
      await service.close();
      await redis.quit();
    },
  };
}

/** `count` product ship-worker processes. */
export function startProductWorkers(count: number, env: Record<string, string>, tag = 'product'): Child[] {
  return Array.from({ length: count }, (_, index) =>
    startChild(`${tag}-worker-${index + 1}`, 'bench/lib/product-worker.ts', env),
  );
}

/** Enqueues through the library's `batch`, `chunk` jobs per call, one call at a time. */
export async function enqueueWithBatch(
  service: Fulfillment,
  shipments: readonly Shipment[],
  chunk = 1000,
): Promise<void> {
  for (let i = 0; i < shipments.length; i += chunk) {
    const results = await service.producer.batch(
      shipments.slice(i, i + chunk).map((shipment) => ({ type: 'ship', ...shipment })),
    );
    const duplicate = results.find((result) => result.duplicate);
    if (duplicate) throw new Error(`bench shipment ${duplicate.id} was already known: ids must be fresh`);
  }
}
