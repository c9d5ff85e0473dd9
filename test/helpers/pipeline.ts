import { randomBytes } from 'node:crypto';
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { type Config, loadConfig } from '../../src/config/index.js';
import type { WorkQueueName } from '../../src/keys.js';
import { createLogger } from '../../src/log.js';
import { Fulfillment } from '../../src/queues/service.js';
import { createQueueWorker, type WorkerOptions } from '../../src/queues/worker.js';
import { type Sandbox, type SandboxControl, startSandbox } from '../../src/sandbox/index.js';
import { createUpstreams } from '../../src/upstreams/index.js';
import type { Child } from './processes.js';
import { deleteByPrefix, testRedis } from './redis.js';
import { startSandboxProcess } from './sandbox-process.js';

export interface TestAccount {
  readonly id: string;
  readonly provider: 'vvtool' | 'damaijia';
  readonly token: string;
  readonly ratePerSecond?: number;
}

export interface TestPipeline {
  readonly prefix: string;
  readonly redis: Redis;
  /** The in-process sandbox (absent when the pipeline was started with `sandboxProcess`). */
  readonly sandbox: Sandbox;
  /** The sandbox's control API, in-process or over HTTP. */
  readonly upstream: SandboxControl;
  readonly config: Config;
  readonly service: Fulfillment;
  readonly accounts: readonly TestAccount[];
  /** The environment a worker process needs to join this pipeline. */
  readonly env: Record<string, string>;
  startWorkers(queues?: readonly WorkQueueName[], processorDeps?: WorkerOptions['processorDeps']): Worker[];
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
  options: { sandboxProcess?: boolean } = {},
): Promise<TestPipeline> {
  const base = await testRedis(name);
  let child: Child | undefined;
  let sandbox: Sandbox;
  let upstream: SandboxControl;
  if (options.sandboxProcess) {
    // Its own process, as a real upstream: its arrival stamps do not wait on this busy test process.
    const started = await startSandboxProcess({ FULFILLMENT_ACCOUNTS: JSON.stringify(accounts) });
    child = started.child;
    upstream = started.control;
    sandbox = new Proxy({} as Sandbox, {
      get: (_target, key) => (key === 'url' ? started.url : key === 'close' ? async () => {} : undefined),
    });
  } else {
    sandbox = await startSandbox({
      accounts: accounts.map((account) => ({
        token: account.token,
        label: account.id,
        provider: account.provider,
      })),
      stallMs: 5_000,
    });
    upstream = inProcessControl(sandbox);
  }
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
  // The lock must outlast a call with room (config refuses less): follow a longer timeout if given.
  if (extraEnv['LOCK_DURATION_MS'] === undefined) {
    env['LOCK_DURATION_MS'] = String(Math.max(2_000, Number(env['UPSTREAM_TIMEOUT_MS']) + 1_000));
  }
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
    upstream,
    config,
    service,
    accounts,
    env,
    startWorkers(queues = ['ship', 'sync'], processorDeps = undefined) {
      const connection = new Redis(base.url, { maxRetriesPerRequest: null });
      connections.push(connection);
      const started = queues.map((queue) =>
        createQueueWorker(service, queue, { connection, upstreams, log, processorDeps }),
      );
      workers.push(...started);
      return started;
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.close(true)));
      for (const connection of connections) connection.disconnect();
      await service.close();
      await sandbox.close();
      await child?.stop();
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

function inProcessControl(sandbox: Sandbox): SandboxControl {
  return {
    calls: async (filter) => sandbox.calls(filter),
    report: async () => sandbox.report(),
    script: async (provider, orderKey, answers) => sandbox.script(provider, orderKey, answers),
    setFaults: async (faults) => sandbox.setFaults(faults),
    setBalance: async (label, balance) => sandbox.setBalance(label, balance),
    setLatency: async (ms) => sandbox.setLatency(ms),
    balance: async (label) => sandbox.balance(label),
    reset: async () => sandbox.reset(),
  };
}
