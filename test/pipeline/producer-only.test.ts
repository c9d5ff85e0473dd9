import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { Fulfillment } from '../../src/queues/service.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';

// A process that only enqueues and looks up jobs (the API's producer routes, the CLI) must not pay
// for the worker runtime: no limiter, so no event-loop delay monitor sampling its loop. The real
// perf_hooks monitor is used; only its `enable` is counted.

const monitors = vi.hoisted(() => ({ enabled: 0 }));

vi.mock('node:perf_hooks', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:perf_hooks')>();
  const monitorEventLoopDelay: typeof real.monitorEventLoopDelay = (options) => {
    const histogram = real.monitorEventLoopDelay(options);
    const enable = histogram.enable.bind(histogram);
    histogram.enable = () => {
      monitors.enabled += 1;
      return enable();
    };
    return histogram;
  };
  return { ...real, default: { ...real, monitorEventLoopDelay }, monitorEventLoopDelay };
});

const ACCOUNT = { id: 'vv1', provider: 'vvtool', token: 'tok-producer-only-never-shown' };
const BODY = { account: 'vv1', tid: '5011', shop_id: 'shop-1', out_sid: 'YT5011000001', company_code: 'YTO' };

let t: TestRedis;
let redis: Redis;
let service: Fulfillment;

beforeAll(async () => {
  t = await testRedis('producer-only');
  // A connection of its own: the limiter defines its gate commands on the connection it is given.
  redis = new Redis(t.url, { maxRetriesPerRequest: null });
  const config = loadConfig(
    { REDIS_URL: t.url, FULFILLMENT_PREFIX: t.prefix, FULFILLMENT_ACCOUNTS: JSON.stringify([ACCOUNT]) },
    { accounts: true },
  );
  service = new Fulfillment(config, redis);
});

afterAll(async () => {
  await service?.close();
  redis?.disconnect();
  await t?.cleanup();
});

it('enqueues, looks up jobs and reads accounts without starting an event-loop monitor', async () => {
  const shipped = await service.producer.ship(BODY);
  expect(shipped).toMatchObject({ state: 'waiting', duplicate: false });
  const [again] = await service.producer.batch([{ type: 'ship', ...BODY }]);
  expect(again).toMatchObject({ id: shipped.id, duplicate: true });
  expect(await service.getJob(shipped.id)).toMatchObject({ id: shipped.id, queue: 'ship', state: 'waiting' });
  expect(await service.backlogs([ACCOUNT.id])).toEqual([1]);

  expect(monitors.enabled).toBe(0);
  expect(typeof redis.gate).toBe('undefined');

  // The API's first use (reading account states) makes it, once, with the gate defined and still no
  // monitor: only a worker, which calibrates before its first call, watches its event loop.
  const limiter = service.limiter;
  expect(service.limiter).toBe(limiter);
  expect(typeof redis.gate).toBe('function');
  expect(await limiter.states([ACCOUNT.id])).toEqual([
    expect.objectContaining({ id: ACCOUNT.id, state: 'active' }),
  ]);
  expect(monitors.enabled).toBe(0);
  await limiter.calibrate();
  expect(monitors.enabled).toBe(1);
});
