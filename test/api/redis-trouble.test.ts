import { tmpdir } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/index.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/index.js';
import { Fulfillment } from '../../src/queues/service.js';
import { connectRedis } from '../../src/runtime/redis.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { until } from '../helpers/wait.js';
import { type PrivateRedis, startPrivateRedis } from '../ops/private-redis.js';
import { AUTH, shipBody, testEnv } from './harness.js';

/**
 * A Redis that is there but cannot serve: hung (connected, never answering), out of memory, or a
 * replica after a failover. /v1 answers 503 with Retry-After within a bounded time, never a 500 and
 * never a request held for minutes.
 */
let t: TestRedis;
const cleanups: (() => Promise<unknown> | unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await t?.cleanup();
});

interface Api {
  readonly app: FastifyInstance;
  readonly service: Fulfillment;
}

/** The HTTP API over a Redis at `url`, its connection built the way the API process builds it. */
async function apiOver(
  url: string,
  options: { commandTimeoutMs?: number; requestTimeoutMs?: number },
): Promise<Api> {
  t ??= await testRedis('api-redis-trouble');
  const config = loadConfig(testEnv(t, { REDIS_URL: url }), { accounts: true, apiKeys: true });
  const redis: Redis = connectRedis(
    config,
    'test-api',
    options.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: options.commandTimeoutMs },
  );
  redis.on('error', () => {
    // Reports of a connection the test breaks on purpose.
  });
  await redis.ping();
  const service = new Fulfillment(config, redis);
  const app = await buildServer({
    service,
    config,
    log: createLogger({ level: 'silent' }),
    metrics: new Metrics({ defaultMetrics: false }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
  });
  cleanups.push(async () => {
    redis.disconnect();
    await app.close();
    await service.close();
  });
  return { app, service };
}

async function hungRedis(): Promise<{ proxy: TcpProxy; url: string }> {
  const proxy = await startTcpProxy(
    Number(new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379').port || 6379),
  );
  cleanups.push(() => proxy.close());
  return { proxy, url: `redis://127.0.0.1:${proxy.port}` };
}

describe('a hung Redis', () => {
  it("fails each command after the connection's command timeout: 503 with Retry-After", async () => {
    const { proxy, url } = await hungRedis();
    const { app } = await apiOver(url, { commandTimeoutMs: 1_500, requestTimeoutMs: 600_000 });
    expect((await app.inject({ url: '/v1/jobs/vvtool.vv1.1.all.YT1234567', headers: AUTH })).statusCode).toBe(
      404,
    );
    proxy.freeze();
    for (const request of [
      { url: '/v1/jobs/vvtool.vv1.1.all.YT1234567', headers: AUTH },
      { method: 'POST' as const, url: '/v1/ship', headers: AUTH, payload: shipBody() },
      { url: '/v1/accounts', headers: AUTH },
    ]) {
      const response = await app.inject(request);
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('5');
      expect(response.json()).toMatchObject({
        error: 'service unavailable',
        issues: [{ path: 'redis', message: 'did not answer in time; retry shortly' }],
      });
    }
  });

  it('answers 503 with Retry-After once the request timeout passes, whatever the route waits on', async () => {
    const { proxy, url } = await hungRedis();
    // No command timeout: the request timeout is the net.
    const { app } = await apiOver(url, { requestTimeoutMs: 300 });
    proxy.freeze();
    const response = await app.inject({ url: '/v1/jobs/vvtool.vv1.2.all.YT1234567', headers: AUTH });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.json()).toMatchObject({ error: 'service unavailable', issues: [{ path: 'request' }] });
  });
});

describe('a Redis out of memory (noeviction)', () => {
  let server: PrivateRedis;

  it('makes an enqueue answer 503 with Retry-After, not 500', async () => {
    server = await startPrivateRedis(['--maxmemory-policy', 'noeviction']);
    cleanups.push(() => server.stop());
    const { app } = await apiOver(server.url, {});
    // 2 MiB of data, then a limit well below it: from then on Redis refuses every write.
    for (let i = 0; i < 8; i++) await server.redis.set(`filler:${i}`, 'x'.repeat(256 * 1024));
    await server.redis.config('SET', 'maxmemory', '1mb');
    await expect(server.redis.set('probe', '1')).rejects.toThrow(/^OOM /);
    for (const request of [
      { method: 'POST' as const, url: '/v1/ship', headers: AUTH, payload: shipBody({ tid: '77' }) },
      {
        method: 'POST' as const,
        url: '/v1/batch',
        headers: AUTH,
        payload: { jobs: [{ type: 'ship', ...shipBody({ tid: '78' }) }] },
      },
    ]) {
      const response = await app.inject(request);
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('5');
      expect(response.json()).toMatchObject({
        error: 'service unavailable',
        issues: [{ path: 'redis', message: 'is out of memory and refuses writes; retry later' }],
      });
    }
  });
});

describe('a connection to a replica (READONLY after a failover)', () => {
  it('reconnects on READONLY, so that the next write finds the primary', async () => {
    // Replication writes its snapshot file: in the temporary directory, not the working one.
    const primary = await startPrivateRedis(['--dir', tmpdir()]);
    cleanups.push(() => primary.stop());
    const replica = await startPrivateRedis([
      '--dir',
      tmpdir(),
      '--replicaof',
      '127.0.0.1',
      String(primary.port),
    ]);
    cleanups.push(() => replica.stop());
    t ??= await testRedis('api-redis-trouble');
    const config = loadConfig({ REDIS_URL: replica.url, FULFILLMENT_PREFIX: t.prefix });
    const redis = connectRedis(config, 'test-readonly');
    redis.on('error', () => {
      // Reported before each reconnect; the test reads the reconnects themselves.
    });
    let reconnects = 0;
    redis.on('reconnecting', () => {
      reconnects += 1;
    });
    cleanups.push(() => redis.disconnect());
    await redis.ping();
    // The refused write fails (a caller retries it), and the connection is made again.
    await expect(redis.set('refused', '1')).rejects.toThrow(/^READONLY/);
    await until('a reconnect after READONLY', () => reconnects > 0, { timeoutMs: 10_000 });
    // The failover: this server is the primary now, and the reconnected connection writes to it.
    await replica.redis.replicaof('NO', 'ONE');
    expect(await redis.set('promoted', 'yes')).toBe('OK');
    expect(await replica.redis.get('promoted')).toBe('yes');
  });
});
