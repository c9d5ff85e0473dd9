import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/index.js';
import { Fulfillment } from '../../src/queues/service.js';
import { createQueueWorker } from '../../src/queues/worker.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { createUpstreams } from '../../src/upstreams/index.js';
import { damaijiaShip, testAccount, vvtoolShip } from '../helpers/pipeline.js';
import { until } from '../helpers/wait.js';
import { type PrivateRedis, startPrivateRedis } from './private-redis.js';

// Redis Cluster runs a multi-key script only when all its keys hash to one slot. With the prefix as a
// hash tag (`{ff}`), every key the product writes must start with it: then its tag, and so its slot,
// is the same. The run uses a Redis server of its own, so that *every* key in it can be checked,
// including any a library might write outside the prefix.

const PREFIX = '{ff}';
const vv = testAccount('vv1', 'vvtool');
const vvHeld = testAccount('vvheld', 'vvtool');
const dm = testAccount('dm1', 'damaijia');

let server: PrivateRedis;
let sandbox: Sandbox;
let service: Fulfillment;
let connection: Redis;
let workers: Worker[] = [];

beforeAll(async () => {
  server = await startPrivateRedis();
  const accounts = [vv, vvHeld, dm];
  sandbox = await startSandbox({
    accounts: accounts.map((a) => ({ token: a.token, label: a.id, provider: a.provider })),
    stallMs: 5_000,
  });
  const config = loadConfig(
    {
      REDIS_URL: server.url,
      FULFILLMENT_PREFIX: PREFIX,
      FULFILLMENT_ACCOUNTS: JSON.stringify(accounts),
      VVTOOL_BASE_URL: sandbox.url,
      DAMAIJIA_BASE_URL: sandbox.url,
      RETRY_BASE_MS: '20',
      RETRY_MAX_MS: '100',
      RETRY_ATTEMPTS: '3',
      UPSTREAM_TIMEOUT_MS: '1000',
      LOCK_DURATION_MS: '2000',
    },
    { accounts: true },
  );
  service = new Fulfillment(config, server.redis);
  connection = new Redis(server.url, { maxRetriesPerRequest: null });
  const upstreams = createUpstreams({ ...config, timeoutMs: config.upstreamTimeoutMs });
  const log = createLogger({ level: 'silent' });
  workers = (['ship', 'sync'] as const).map((queue) =>
    createQueueWorker(service, queue, { connection, upstreams, log }),
  );
});

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.close(true)));
  connection?.disconnect();
  await service?.close();
  await sandbox?.close();
  // The whole server goes, and every key with it.
  await server?.stop();
});

async function finished(id: string) {
  return until(`job ${id} to finish`, async () => {
    const view = await service.getJob(id);
    return view && (view.state === 'completed' || view.state === 'dead') ? view : undefined;
  });
}

async function allKeys(redis: Redis): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys.sort();
}

/** The part of a key Redis Cluster hashes: between the first '{' and the next '}', if not empty. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

describe('a hash-tagged prefix', () => {
  it('is the start of every key a run writes: jobs, retries, dead letters, holds, ledger, markers', async () => {
    // Plain successes on both providers, and a sync.
    const ok = await service.producer.ship(vvtoolShip(vv.id));
    const okDm = await service.producer.ship(damaijiaShip(dm.id));
    const sync = await service.producer.sync({ account: dm.id, orderSns: 'DMSYNC1', ownerId: 'owner-1' });
    // A retry, then success.
    const retried = vvtoolShip(vv.id);
    sandbox.script('vvtool', retried.tid as string, [{ code: 101 }]);
    const retry = await service.producer.ship(retried);
    // A dead one (an isv error), later redriven.
    const doomed = vvtoolShip(vv.id);
    sandbox.script('vvtool', doomed.tid as string, [{ code: 614, msg: '没有权限进行发货' }]);
    const dead = await service.producer.ship(doomed);
    // A call charged but never answered: a "charge unknown" ledger entry.
    const lost = damaijiaShip(dm.id);
    sandbox.script('damaijia', lost.order_no as string, [{ fault: 'reset', when: 'after' }]);
    const unknown = await service.producer.ship(lost);
    // An account held on 401, with a job parked behind the hold, then resumed.
    const first = vvtoolShip(vvHeld.id);
    sandbox.script('vvtool', first.tid as string, [{ code: 401 }]);
    const held = await service.producer.ship(first);
    await until('the account held', async () => (await service.limiter.isHeld(vvHeld.id)) || undefined);
    const parked = await service.producer.ship(vvtoolShip(vvHeld.id));
    await until('the jobs parked', async () => {
      const views = await Promise.all([held.id, parked.id].map((id) => service.getJob(id)));
      return views.every((view) => view?.state === 'delayed') || undefined;
    });

    // A duplicate is refused by its idempotency marker.
    const again = await service.producer.ship(doomed);
    expect(again.duplicate).toBe(true);

    for (const { id } of [ok, okDm, sync, retry, unknown])
      expect((await finished(id)).state).toBe('completed');
    expect((await finished(dead.id)).state).toBe('dead');
    // Look at the keys while the account is held and a job is dead, then again after the repairs.
    const during = await allKeys(server.redis);

    await service.resumeAccount(vvHeld.id);
    for (const { id } of [held, parked]) expect((await finished(id)).state).toBe('completed');
    expect(await service.deadLetters.redrive({ ids: [dead.id] })).toMatchObject({ redriven: 1 });
    expect((await finished(dead.id)).state).toBe('completed');
    // Reads of every kind (the API's and the metrics' too) may create keys as a side effect.
    await service.ledger.summary({ groupBy: 'account' });
    await service.ledger.entries({});
    await service.deadLetters.list({}, 100);
    await service.deadLetters.sweepFailed('ship');
    await new Metrics({ defaultMetrics: false }).watch(service).scrape();
    expect((await service.ledger.summary({})).unknown).toBeGreaterThanOrEqual(1);

    const after = await allKeys(server.redis);
    for (const keys of [during, after]) {
      expect(keys.filter((key) => !key.startsWith(`${PREFIX}:`))).toEqual([]);
      expect(new Set(keys.map(hashTag))).toEqual(new Set(['ff']));
    }
    // The run did write each family of keys the check is about.
    const families = [':idem:', ':acct:', ':ledger:', ':ship:', ':sync:', ':dead-letter:'];
    for (const family of families) {
      expect(
        during.some((key) => key.includes(family)),
        family,
      ).toBe(true);
    }
  });
});
