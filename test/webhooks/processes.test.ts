import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { appendEvent } from '../../src/events/index.js';
import { outboxKey, WEBHOOK_GROUP, webhookKeys } from '../../src/keys.js';
import { type Child, spawnNode } from '../helpers/processes.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';
import { newSecret } from './fixtures.js';
import { type Receiver, startReceiver } from './receiver.js';

// Real processes: deliverers killed with SIGKILL while they hold events (attempts hanging at the
// receiver, retries scheduled), then started again.
let r: TestRedis;
let receiver: Receiver;
const children: Child[] = [];
const secret = newSecret();

beforeAll(async () => {
  r = await testRedis('webhook-processes');
  receiver = await startReceiver();
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.stop('SIGKILL')));
});
afterAll(async () => {
  await receiver?.close();
  await r?.cleanup();
});

function env(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: r.url,
    FULFILLMENT_PREFIX: prefix,
    WEBHOOK_URL: receiver.url,
    WEBHOOK_SECRET: secret,
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

describe('webhook deliverers as processes', () => {
  it('after kill -9 of every deliverer, started again, every event arrives with its first body', async () => {
    const prefix = `${r.prefix}:crash`;
    const timings = JSON.stringify({
      timeoutMs: 3_000,
      leaseMs: 4_000,
      retryDelaysMs: [1_500, 1_500, 1_500, 1_500, 1_500, 1_500],
      pollMs: 100,
    });
    const start = () => {
      const child = spawnNode(
        'test/webhooks/deliverer-process.ts',
        env(prefix, { TEST_DELIVERER_OPTIONS: timings }),
      );
      children.push(child);
      return child;
    };
    // Down, two ways: half the first attempts hang (held when the processes die), half get a 500.
    receiver.answer(({ id }) => (Number.parseInt(id.slice(-1), 10) % 2 === 0 ? 'hang' : 500));
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      ids.push(
        await appendEvent(r.redis, prefix, 'account.resumed', { id: `acct-${i}`, provider: 'vvtool' }),
      );
    }
    const first = [start(), start()];
    const tried = () => new Set(receiver.received.map((item) => String(item.headers['webhook-id'])));
    await until('every event tried once', () => ids.every((id) => tried().has(`evt_${id}`)), {
      timeoutMs: 30_000,
    });
    await Promise.all(first.map((child) => child.stop('SIGKILL')));
    expect(first.map((child) => child.process.signalCode)).toEqual(['SIGKILL', 'SIGKILL']);
    expect(receiver.delivered().size).toBe(0);
    // All twenty held in Redis: attempts cut short (pending in the group) or retries scheduled.
    const [pending] = (await r.redis.xpending(outboxKey(prefix), WEBHOOK_GROUP)) as [number];
    expect(pending + (await r.redis.zcard(webhookKeys(prefix).due))).toBe(20);

    // Recorded while no deliverer runs at all.
    for (let i = 20; i < 25; i++) {
      ids.push(
        await appendEvent(r.redis, prefix, 'account.resumed', { id: `acct-${i}`, provider: 'vvtool' }),
      );
    }
    receiver.answer(() => 204);
    start();
    start();
    await until('every event delivered', () => ids.every((id) => receiver.delivered().has(`evt_${id}`)), {
      timeoutMs: 40_000,
      everyMs: 100,
    });
    for (const id of ids) {
      const attempts = receiver.received.filter((item) => item.headers['webhook-id'] === `evt_${id}`);
      expect(new Set(attempts.map((item) => item.body)).size, id).toBe(1);
    }
  });

  it('a worker process with WEBHOOK_URL delivers events; a bad WEBHOOK_URL stops start-up with one line', async () => {
    const prefix = `${r.prefix}:worker`;
    const accounts = JSON.stringify([
      { id: 'acct-w', provider: 'vvtool', token: `tok-${randomBytes(8).toString('hex')}` },
    ]);
    const base = {
      FULFILLMENT_ACCOUNTS: accounts,
      VVTOOL_BASE_URL: 'http://127.0.0.1:9',
      DAMAIJIA_BASE_URL: 'http://127.0.0.1:9',
    };
    const bad = spawnNode('workers/ship.ts', env(prefix, { ...base, WEBHOOK_URL: 'ftp://127.0.0.1/hook' }));
    children.push(bad);
    const [code] = (await once(bad.process, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(bad.output().trim()).toBe('fulfillment: WEBHOOK_URL: must start with http:// or https://');

    receiver.answer(() => 204);
    const worker = spawnNode('workers/ship.ts', env(prefix, { ...base, LOG_LEVEL: 'info' }));
    children.push(worker);
    const id = await appendEvent(r.redis, prefix, 'account.resumed', { id: 'acct-w', provider: 'vvtool' });
    await until('delivered by the worker process', () => receiver.delivered().has(`evt_${id}`), {
      timeoutMs: 30_000,
    });
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(worker.output()).toContain('webhook deliveries on');
    expect(worker.output()).not.toContain(secret.slice(6));
  });
});
