import { randomBytes } from 'node:crypto';
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { type Config, loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log.js';
import type { WorkQueueName } from '../../src/queues/keys.js';
import { Fulfillment } from '../../src/queues/service.js';
import { createQueueWorker } from '../../src/queues/worker.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { createUpstreams } from '../../src/upstreams/index.js';
import { deleteByPrefix, testRedis } from './redis.js';

export interface TestAccount {
  readonly id: string;
  readonly provider: 'vvtool' | 'damaijia';
  readonly token: string;
  readonly ratePerSecond?: number;
}

export interface TestPipeline {
  readonly prefix: string;
  readonly redis: Redis;
  readonly sandbox: Sandbox;
  readonly config: Config;
  readonly service: Fulfillment;
  readonly accounts: readonly TestAccount[];
  /** The environment a worker process needs to join this pipeline. */
  readonly env: Record<string, string>;
  startWorkers(queues?: readonly WorkQueueName[]): Worker[];
  close(): Promise<void>;
}

export function testAccount(
  id: string,
  provider: 'vvtool' | 'damaijia',
  ratePerSecond?: number,
): TestAccount {
  return { id, provider, token: `tok-${id}-${randomBytes(12).toString('hex')}`, ratePerSecond };
}

/**
 * A whole pipeline in this process on a fresh prefix: the sandbox as upstream on 127.0.0.1, the
 * service, and (on demand) in-process workers. `env` lets real worker processes join it.
 */
export async function startTestPipeline(
  name: string,
  accounts: readonly TestAccount[],
  extraEnv: Record<string, string> = {},
): Promise<TestPipeline> {
  const base = await testRedis(name);
  const sandbox = await startSandbox({
    accounts: accounts.map((account) => ({
      token: account.token,
      label: account.id,
      provider: account.provider,
    })),
    stallMs: 5_000,
  });
  const env: Record<string, string> = {
    REDIS_URL: base.url,
    FULFILLMENT_PREFIX: base.prefix,
    FULFILLMENT_ACCOUNTS: JSON.stringify(accounts),
    VVTOOL_BASE_URL: sandbox.url,
    DAMAIJIA_BASE_URL: sandbox.url,
    RETRY_BASE_MS: '20',
    RETRY_MAX_MS: '100',
    RETRY_ATTEMPTS: '4',
    UPSTREAM_TIMEOUT_MS: '1000',
    LOCK_DURATION_MS: '2000',
    LOG_LEVEL: 'silent',
    ...extraEnv,
  };
  const config = loadConfig(env, { accounts: true });
  const service = new Fulfillment(config, base.redis);
  const upstreams = createUpstreams({ ...config, timeoutMs: config.upstreamTimeoutMs });
  const log = createLogger({ level: 'silent' });
  const workers: Worker[] = [];
  const connections: Redis[] = [];
  return {
    prefix: base.prefix,
    redis: base.redis,
    sandbox,
    config,
    service,
    accounts,
    env,
    startWorkers(queues = ['ship', 'sync']) {
      const connection = new Redis(base.url, { maxRetriesPerRequest: null });
      connections.push(connection);
      const started = queues.map((queue) =>
        createQueueWorker(service, queue, { connection, upstreams, log }),
      );
      workers.push(...started);
      return started;
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.close(true)));
      for (const connection of connections) connection.disconnect();
      await service.close();
      await sandbox.close();
      await deleteByPrefix(base.redis, base.prefix);
      await base.cleanup();
    },
  };
}

/** A vv-tool ship payload with unique ids. */
let serial = 0;
export function vvtoolShip(
  account: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  serial += 1;
  const tid = `${Date.now()}${String(serial).padStart(4, '0')}`;
  return { account, tid, shop_id: 'shop-1', out_sid: `YT${tid}`, company_code: 'YTO', ...overrides };
}

export function damaijiaShip(
  account: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  serial += 1;
  const order = `DM${Date.now()}${serial}`;
  return {
    account,
    seller_nick: 'nick',
    order_no: order,
    wp_code: 'YTO',
    waybill_no: `WB${order}`,
    ...overrides,
  };
}
