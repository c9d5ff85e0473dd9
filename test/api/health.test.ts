import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/index.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/index.js';
import { Fulfillment } from '../../src/queues/service.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { until } from '../helpers/wait.js';
import { AUTH, shipBody, startHarness, testEnv } from './harness.js';

/** BullMQ queues print connection errors to stderr unless someone listens; here they are expected. */
function expectConnectionErrors(service: Fulfillment): void {
  for (const queue of [service.queues.ship, service.queues.sync, service.deadLetterQueue]) {
    queue.on('error', () => {
      // Redis is down on purpose in these tests.
    });
  }
}

const quiet = () =>
  createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });

let t: TestRedis;

beforeAll(async () => {
  t = await testRedis('api-health');
});

afterAll(async () => {
  await t.cleanup();
});

/** The API on its own Redis client to `url` (errors expected and ignored); `close` ends all three. */
async function apiOn(url: string, redisOptions: RedisOptions) {
  const config = loadConfig({ ...testEnv(t), REDIS_URL: url }, { accounts: true, apiKeys: true });
  const redis = new Redis(url, redisOptions);
  redis.on('error', () => {
    // Expected: Redis is unreachable or cut on purpose; what the API answers is what these tests watch.
  });
  const service = new Fulfillment(config, redis);
  expectConnectionErrors(service);
  const app = await buildServer({
    service,
    config,
    log: quiet(),
    metrics: new Metrics({ defaultMetrics: false }),
  });
  const close = async () => {
    await app.close();
    await service.close();
    redis.disconnect();
  };
  return { app, redis, close };
}

/**
 * The API on a Redis reached at `url` (a proxy the test cuts), reconnecting every `retryMs`; returned
 * once /readyz says ready.
 */
async function apiThrough(url: string, retryMs: number) {
  const api = await apiOn(url, { maxRetriesPerRequest: null, retryStrategy: () => retryMs });
  try {
    await until('ready', async () => (await api.app.inject({ url: '/readyz' })).statusCode === 200);
  } catch (err) {
    await api.close();
    throw err;
  }
  return api;
}

/** A TCP proxy to the test Redis that can be cut and restored on the same port. */
class CuttableProxy {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: URL) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(Number(this.target.port || 6379), this.target.hostname);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

describe('with Redis unreachable', () => {
  it('/readyz is 503, /healthz and /metrics still answer, bad input is still a 400', async () => {
    // Nothing listens on port 1.
    const { app, close } = await apiOn('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      const ready = await app.inject({ url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toEqual({ status: 'unavailable', redis: 'unreachable' });
      const health = await app.inject({ url: '/healthz' });
      expect(health.statusCode).toBe(200);
      expect(health.json()).toEqual({ status: 'ok' });
      const metrics = await app.inject({ url: '/metrics' });
      expect(metrics.statusCode).toBe(200);
      expect(metrics.body).toMatch(/^fulfillment_redis_up 0$/m);
      const bad = await app.inject({
        method: 'POST',
        url: '/v1/ship',
        headers: AUTH,
        payload: shipBody({ tid: 'x' }),
      });
      expect(bad.statusCode).toBe(400);
    } finally {
      await close();
    }
  });
});

describe('with Redis going away and coming back', () => {
  it('/readyz goes 503 while Redis is cut and back to 200 when it returns', async () => {
    const proxy = new CuttableProxy(new URL(t.url));
    await proxy.start();
    const { app, close } = await apiThrough(`redis://127.0.0.1:${proxy.port}`, 50);
    try {
      expect((await app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready', redis: 'ok' });

      await proxy.stop();
      await until('not ready', async () => (await app.inject({ url: '/readyz' })).statusCode === 503);
      expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
      // Keyed routes answer at once rather than queue until Redis is back; a bad body is still a 400.
      const ship = {
        method: 'POST' as const,
        url: '/v1/ship',
        headers: AUTH,
        payload: shipBody({ tid: '777' }),
      };
      const away = await app.inject(ship);
      expect([away.statusCode, away.headers['retry-after'], away.json()]).toMatchObject([
        503,
        '5',
        {
          error: 'service unavailable',
          issues: [{ path: 'redis', message: 'is not reachable; nothing was done, retry shortly' }],
        },
      ]);
      expect((await app.inject({ url: '/v1/jobs/anything', headers: AUTH })).statusCode).toBe(503);
      expect((await app.inject({ ...ship, payload: shipBody({ tid: 'x' }) })).statusCode).toBe(400);
      expect((await app.inject({ url: '/v1/accounts' })).statusCode).toBe(401);

      await proxy.start();
      await until('ready again', async () => (await app.inject({ url: '/readyz' })).statusCode === 200);
      // Nothing of the refused request was written: enqueueing it now is new, not a duplicate.
      const back = await app.inject(ship);
      expect([back.statusCode, back.json().duplicate]).toEqual([202, false]);
    } finally {
      await close();
      await proxy.stop();
    }
  });
});

describe('with Redis lost and a reconnect that hangs', () => {
  it('refuses at once while the connection is being made again, instead of queueing until the request times out', async () => {
    const proxy = await startTcpProxy(Number(new URL(t.url).port || 6379));
    const { app, redis, close } = await apiThrough(`redis://127.0.0.1:${proxy.port}`, 20);
    try {
      // The connection drops; the next one is accepted and never answered, so ioredis stays
      // 'connect' (waiting for its ready check): neither ready nor, by its own states, lost.
      proxy.freeze();
      proxy.cut();
      await until('connected again, not ready', async () => redis.status === 'connect' || undefined);
      const ship = {
        method: 'POST' as const,
        url: '/v1/ship',
        headers: AUTH,
        payload: shipBody({ tid: '778' }),
      };
      for (const request of [ship, { url: '/v1/jobs/anything', headers: AUTH }]) {
        const away = await app.inject(request);
        expect([away.statusCode, away.headers['retry-after'], away.json()]).toMatchObject([
          503,
          '5',
          { issues: [{ path: 'redis', message: 'is not reachable; nothing was done, retry shortly' }] },
        ]);
      }
    } finally {
      await close();
      await proxy.close();
    }
  });
});

describe('warnings in /readyz details', () => {
  it('names a token that would travel over plain http to another host, and stays ready', async () => {
    const h = await startHarness('api-health-warn', {
      VVTOOL_BASE_URL: 'http://api.vv-tool.invalid',
      DAMAIJIA_BASE_URL: 'https://damaijia.invalid',
    });
    try {
      // The harness's connection may still be coming up: the answer we read is the ready one.
      const ready = await until('ready', async () => {
        const answer = await h.inject({ url: '/readyz' });
        return answer.statusCode === 200 ? answer : undefined;
      });
      expect([ready.statusCode, ready.json()]).toEqual([
        200,
        {
          status: 'ready',
          redis: 'ok',
          warnings: [
            'VVTOOL_BASE_URL is plain http:// to api.vv-tool.invalid: the tokens of vvtool account(s) vv1 ' +
              'cross the network unencrypted; use https:// where the upstream serves it',
          ],
        },
      ]);
      expect(h.leakedSecrets()).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it('has none for https or loopback upstreams', async () => {
    const h = await startHarness('api-health-nowarn', { DAMAIJIA_BASE_URL: 'https://damaijia.invalid' });
    try {
      const ready = await until('ready', async () => {
        const answer = await h.inject({ url: '/readyz' });
        return answer.statusCode === 200 ? answer : undefined;
      });
      expect(ready.json()).toEqual({ status: 'ready', redis: 'ok' });
    } finally {
      await h.close();
    }
  });
});
