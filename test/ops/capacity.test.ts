import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { Fulfillment } from '../../src/queues/service.js';
import { type Child, spawnNode } from '../helpers/processes.js';
import { startSandboxProcess } from '../helpers/sandbox-process.js';
import { until } from '../helpers/wait.js';
import { type PrivateRedis, startPrivateRedis } from './private-redis.js';

// What one Redis carries: a short bounded run of the Compose layout's work (jobs enqueued, two ship
// worker processes, the sandbox as upstream) against a redis-server of its own, so nothing else is
// counted in its CPU. Prints Redis CPU per upstream call (INFO cpu, user + sys, from before the
// enqueue to the last call settled), which docs/operations.md turns into calls/s and accounts per
// Redis. A measurement, not a check of speed: it asserts only that every job shipped within limits.
// Opt-in (it keeps two cores busy for about half a minute): FULFILLMENT_CAPACITY_RUN=1.

const RUN = process.env.FULFILLMENT_CAPACITY_RUN === '1';
const ACCOUNTS = 20;
const JOBS_PER_ACCOUNT = 60;

let redis: PrivateRedis | undefined;
const children: Child[] = [];

afterAll(async () => {
  await Promise.all(children.map((child) => child.stop('SIGKILL')));
  await redis?.stop();
});

/** Redis's own CPU seconds so far (user + sys), from INFO cpu. */
async function redisCpuSeconds(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
  return field('used_cpu_user') + field('used_cpu_sys');
}

if (!RUN) console.log('capacity: skipped (set FULFILLMENT_CAPACITY_RUN=1 to measure Redis CPU per call)');

describe.skipIf(!RUN)('Redis CPU per upstream call', () => {
  it('a bounded run of 1,200 shipments over 20 accounts at their full rate', async () => {
    redis = await startPrivateRedis(['--maxmemory-policy', 'noeviction']);
    const accounts = Array.from({ length: ACCOUNTS }, (_, i) => ({
      id: `cap${i}`,
      provider: 'vvtool',
      token: `tok-cap-${i}-${randomUUID()}`,
    }));
    const env = {
      REDIS_URL: redis.url,
      FULFILLMENT_PREFIX: 'capacity',
      FULFILLMENT_ACCOUNTS: JSON.stringify(accounts),
      LOG_LEVEL: 'warn',
      METRICS_PORT: '0',
    };
    const sandbox = await startSandboxProcess({ FULFILLMENT_ACCOUNTS: env.FULFILLMENT_ACCOUNTS });
    children.push(sandbox.child);
    const workerEnv = { ...env, VVTOOL_BASE_URL: sandbox.url, DAMAIJIA_BASE_URL: sandbox.url };
    for (let i = 0; i < 2; i++) children.push(spawnNode('workers/ship.ts', workerEnv));
    const service = new Fulfillment(
      loadConfig(workerEnv, { accounts: true }),
      new Redis(redis.url, { maxRetriesPerRequest: null }),
    );
    try {
      await until(
        'both workers to register',
        async () => (await service.queues.ship.getWorkersCount()) === 2,
        {
          timeoutMs: 30_000,
        },
      );
      const cpuBefore = await redisCpuSeconds(redis.redis);
      const started = performance.now();
      const total = ACCOUNTS * JOBS_PER_ACCOUNT;
      for (let n = 0; n < JOBS_PER_ACCOUNT; n++) {
        await service.producer.batch(
          accounts.map((account) => ({
            type: 'ship',
            account: account.id,
            tid: `5${String(n).padStart(6, '0')}${account.id.slice(3).padStart(4, '0')}`,
            shop_id: 'shop-1',
            out_sid: `YT${String(n).padStart(10, '0')}`,
            company_code: 'YTO',
          })),
        );
      }
      await until('every call made', async () => (await sandbox.control.report()).calls >= total, {
        timeoutMs: 120_000,
        everyMs: 250,
      });
      await until('every job settled', async () => {
        const counts = await service.queues.ship.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        return Object.values(counts).every((count) => count === 0);
      });
      const seconds = (performance.now() - started) / 1000;
      const cpu = (await redisCpuSeconds(redis.redis)) - cpuBefore;
      const report = await sandbox.control.report();
      expect(report.calls).toBe(total);
      expect(report.violations).toEqual([]);
      const perCallMs = (cpu * 1000) / report.calls;
      console.log(
        `capacity: ${report.calls} calls in ${seconds.toFixed(1)} s (${(report.calls / seconds).toFixed(0)} calls/s), ` +
          `Redis CPU ${(cpu * 1000).toFixed(0)} ms = ${perCallMs.toFixed(3)} ms per call; ` +
          `one Redis core at 70% carries about ${Math.floor(700 / perCallMs)} calls/s ` +
          `= ${Math.floor(70 / perCallMs)} accounts at 10 calls/s`,
      );
    } finally {
      await service.close();
      await service.redis.quit();
    }
  }, 240_000);
});
