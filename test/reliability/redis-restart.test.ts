import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { Fulfillment } from '../../src/queues/service.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { freePort } from '../../support/ports.js';
import { checkInvariants } from '../helpers/invariants.js';
import { testAccount, vvtoolShip } from '../helpers/pipeline.js';
import { type Child, spawnNode } from '../helpers/processes.js';
import { until } from '../helpers/wait.js';

// Redis stopped for 10 s and started again (AOF on, so data survives) while jobs flow, on a server
// of the test's own, not the machine's: the service process stays up, /readyz says 503 and then 200
// again, and the work resumes by itself.
const OUTAGE_MS = 10_000;
const accounts = [testAccount('rr1', 'vvtool'), testAccount('rr2', 'vvtool')];
let dir: string;
let redisPort: number;
let server: ChildProcess | undefined;
let sandbox: Sandbox;
let service: Child;
let redis: Redis;
let fulfillment: Fulfillment;
let base: string;

async function startRedis(): Promise<void> {
  server = spawn(
    'redis-server',
    [
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
    ],
    { stdio: 'ignore' },
  );
  const probe = new Redis(redisPort, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
  probe.on('error', () => {});
  await until('redis-server to answer', async () => {
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG' || undefined;
    } catch {
      probe.disconnect();
      return undefined;
    }
  });
  probe.disconnect();
}

async function stopRedis(): Promise<void> {
  if (!server) return;
  const exited = once(server, 'exit');
  server.kill('SIGTERM'); // redis-server flushes the AOF on SIGTERM
  await exited;
  server = undefined;
}

async function ready(): Promise<number> {
  return (await fetch(`${base}/readyz`).catch(() => null))?.status ?? 0;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ff-redis-'));
  redisPort = await freePort();
  await startRedis();
  sandbox = await startSandbox({
    accounts: accounts.map((account) => ({
      token: account.token,
      label: account.id,
      provider: account.provider,
    })),
  });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const env = {
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    FULFILLMENT_PREFIX: 'rr',
    FULFILLMENT_ACCOUNTS: JSON.stringify(accounts),
    VVTOOL_BASE_URL: sandbox.url,
    DAMAIJIA_BASE_URL: sandbox.url,
    PORT: String(port),
    API_KEYS: 'restart-test-key-0123456789',
    RETRY_BASE_MS: '100',
    RETRY_MAX_MS: '1000',
    LOG_LEVEL: 'warn',
  };
  service = spawnNode('workers/all.ts', env);
  await until('the service to be ready', async () => (await ready()) === 200 || undefined, {
    timeoutMs: 30_000,
  });
  redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
  redis.on('error', () => {});
  fulfillment = new Fulfillment(loadConfig(env, { accounts: true }), redis);
});
afterAll(async () => {
  await service?.stop();
  await fulfillment?.close();
  redis?.disconnect();
  await sandbox?.close();
  await stopRedis();
  rmSync(dir, { recursive: true, force: true });
});

describe('Redis restart', () => {
  it('rides out a 10 s outage: readiness follows Redis, and every job finishes', async () => {
    const first = await fulfillment.producer.batch(
      Array.from({ length: 60 }, (_, i) => ({ type: 'ship', ...vvtoolShip(accounts[i % 2]!.id) })),
    );
    await until('work under way', () => sandbox.calls().length >= 10);

    await stopRedis();
    expect(await until('readyz to say 503', async () => ((await ready()) === 503 ? 503 : undefined))).toBe(
      503,
    );
    // The outage lasts a fixed time on purpose: it is the scenario, not a synchronisation.
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    expect(service.process.exitCode).toBeNull();
    await startRedis();

    const back = Date.now();
    const callsBefore = sandbox.calls().length;
    await until('readyz to say 200 again', async () => (await ready()) === 200 || undefined, {
      timeoutMs: 30_000,
    });
    // The library refuses (RedisUnavailableError) rather than queue writes while its own connection
    // is still reconnecting: a producer waits for it, as it would retry.
    await until('the producer connection to be back', () => redis.status === 'ready', { timeoutMs: 30_000 });
    const second = await fulfillment.producer.batch(
      Array.from({ length: 20 }, (_, i) => ({ type: 'ship', ...vvtoolShip(accounts[i % 2]!.id) })),
    );
    const ids = [...first, ...second].map((result) => result.id);
    // Work resumes by itself: a call reaches the upstream within 30 s of Redis coming back.
    await until('a call after the restart', () => sandbox.calls().length > callsBefore, {
      timeoutMs: 30_000,
    });
    const resumedWithinMs = Date.now() - back;
    await until(
      'every job to finish',
      async () => {
        const views = await Promise.all(ids.map((id) => fulfillment.getJob(id)));
        return views.every((view) => view?.state === 'completed' || view?.state === 'dead') || undefined;
      },
      { timeoutMs: 90_000, everyMs: 500 },
    );
    const report = await checkInvariants(fulfillment, ids, sandbox.calls());
    console.log(
      `redis-restart: ${JSON.stringify({ ...report, resumedWithinMs, allDoneWithinMs: Date.now() - back })}`,
    );
    expect(report.completed).toBe(ids.length);
    expect(service.process.exitCode).toBeNull();
  });
});
