import { createHmac } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, Secret } from '../../src/config/index.js';
import { appendEvent, EVENT_TYPES, type EventType, trimOutbox } from '../../src/events/index.js';
import { outboxKey, webhookKeys } from '../../src/keys.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/index.js';
import { Fulfillment } from '../../src/queues/service.js';
import {
  oldestUndeliveredMs,
  WebhookDeliverer,
  type WebhookDelivererOptions,
} from '../../src/webhooks/index.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';
import { newSecret, sampleEvents } from './fixtures.js';
import { type Receiver, startReceiver } from './receiver.js';

let r: TestRedis;
let receiver: Receiver;
const running: WebhookDeliverer[] = [];
const secret = newSecret();

beforeAll(async () => {
  r = await testRedis('webhooks');
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((deliverer) => deliverer.close(true)));
  await receiver?.close();
});
afterAll(async () => {
  await r?.cleanup();
});

let serial = 0;
/** A deliverer on a prefix of the test's own, with fast timings unless told otherwise. */
async function setUp(overrides: Partial<WebhookDelivererOptions> = {}) {
  serial += 1;
  const prefix = `${r.prefix}:${serial}`;
  receiver = await startReceiver();
  const lines = new PassThrough();
  let log = '';
  lines.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const metrics = new Metrics({ defaultMetrics: false });
  const options: WebhookDelivererOptions = {
    redis: r.redis,
    prefix,
    url: receiver.url,
    secret: new Secret(secret),
    log: createLogger({ level: 'info', destination: lines }),
    observer: metrics,
    timeoutMs: 2_000,
    retryDelaysMs: [50, 50, 50],
    leaseMs: 3_000,
    pollMs: 50,
    ...overrides,
  };
  const start = (more: Partial<WebhookDelivererOptions> = {}) => {
    const deliverer = new WebhookDeliverer({ ...options, ...more }).start();
    running.push(deliverer);
    return deliverer;
  };
  const append = <T extends EventType>(type: T, data: Parameters<typeof appendEvent<T>>[3], at?: number) =>
    appendEvent(r.redis, prefix, type, data, at);
  const counter = async (outcome: string) => {
    const text = await metrics.scrape();
    const match = new RegExp(`fulfillment_webhook_deliveries_total\\{outcome="${outcome}"\\} (\\d+)`).exec(
      text,
    );
    return match ? Number(match[1]) : 0;
  };
  return { prefix, start, append, counter, log: () => log };
}

function attemptsOf(id: string) {
  return receiver.received.filter((item) => item.headers['webhook-id'] === `evt_${id}`);
}

describe('webhook delivery', () => {
  it('delivers every event type, signed so that the standardwebhooks verifier accepts it', async () => {
    const s = await setUp();
    const samples = sampleEvents('acct-1');
    const at = Date.parse('2026-12-03T08:00:00.123Z');
    const ids = new Map<EventType, string>();
    for (const type of EVENT_TYPES) ids.set(type, await s.append(type, samples[type], at));
    s.start();
    await until('all five delivered', () => receiver.delivered().size === EVENT_TYPES.length);

    const verifier = new Webhook(secret);
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    for (const type of EVENT_TYPES) {
      const got = receiver.delivered().get(`evt_${ids.get(type)}`);
      expect(got, type).toBeDefined();
      const headers = got!.headers as Record<string, string>;
      expect(headers['content-type']).toBe('application/json');
      expect(verifier.verify(got!.body, headers)).toEqual({
        type,
        timestamp: '2026-12-03T08:00:00.123Z',
        data: samples[type],
      });
      // The same signature by hand: HMAC-SHA256 keyed by the decoded secret over id.timestamp.body.
      const signed = `${headers['webhook-id']}.${headers['webhook-timestamp']}.${got!.body}`;
      expect(headers['webhook-signature']).toBe(
        `v1,${createHmac('sha256', key).update(signed).digest('base64')}`,
      );
      expect(Math.abs(Number(headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(300);
      // And the verifier is not one that accepts anything.
      expect(() => verifier.verify(got!.body.replace('acct-1', 'acct-2'), headers)).toThrow(
        WebhookVerificationError,
      );
      expect(() => new Webhook(newSecret()).verify(got!.body, headers)).toThrow(WebhookVerificationError);
    }
    await until(
      'five counted as delivered',
      async () => (await s.counter('delivered')) === EVENT_TYPES.length,
    );
  });

  it('retries a 500 with the same webhook-id and body, then forgets the event once delivered', async () => {
    const s = await setUp();
    const id = await s.append('account.resumed', { id: 'acct-1', provider: 'vvtool' });
    let failures = 0;
    receiver.answer(() => (failures++ < 2 ? 500 : 200));
    s.start();
    await until('delivered after two 500s', () => receiver.delivered().has(`evt_${id}`));

    const attempts = attemptsOf(id);
    expect(attempts.map((item) => item.answer)).toEqual([500, 500, 200]);
    expect(new Set(attempts.map((item) => item.body)).size).toBe(1);
    for (const attempt of attempts) {
      expect(
        new Webhook(secret).verify(attempt.body, attempt.headers as Record<string, string>),
      ).toBeTruthy();
    }
    await until('one counted as delivered', async () => (await s.counter('delivered')) === 1);
    expect(await s.counter('retry')).toBe(2);
    expect(s.log()).toContain('HTTP 500');
    // Nothing left behind: no retry state, nothing pending, and the trimmer can take the entry.
    const keys = webhookKeys(s.prefix);
    await until('settled', async () => (await r.redis.zcard(keys.due)) === 0);
    expect(await r.redis.hlen(keys.events)).toBe(0);
    expect(await r.redis.hlen(keys.attempts)).toBe(0);
    expect(await oldestUndeliveredMs(r.redis, s.prefix)).toBeNull();
    expect(await trimOutbox(r.redis, s.prefix)).toBe(1);
    expect(await r.redis.xlen(outboxKey(s.prefix))).toBe(0);
  });

  it('gives up a hanging attempt at the timeout, and delivers other events meanwhile', async () => {
    const s = await setUp({ timeoutMs: 1_500 });
    const stuck = await s.append('account.resumed', { id: 'stuck', provider: 'vvtool' });
    let hungOnce = false;
    receiver.answer(({ id }) => {
      if (id === `evt_${stuck}` && !hungOnce) {
        hungOnce = true;
        return 'hang';
      }
      return 204;
    });
    s.start();
    await until('the first attempt to hang', () => attemptsOf(stuck).length === 1);
    const others: string[] = [];
    for (let i = 0; i < 5; i++)
      others.push(await s.append('account.resumed', { id: `other-${i}`, provider: 'vvtool' }));
    await until('the others delivered', () => others.every((id) => receiver.delivered().has(`evt_${id}`)));
    // Each of them arrived while the stuck attempt was still held open by the receiver.
    for (const id of others) expect(attemptsOf(id)[0]!.hangingAtArrival).toBe(1);

    await until('the stuck one retried and delivered', () => receiver.delivered().has(`evt_${stuck}`));
    const attempts = attemptsOf(stuck);
    expect(attempts.map((item) => item.answer)).toEqual(['hang', 204]);
    expect(attempts[0]!.body).toBe(attempts[1]!.body);
    expect(s.log()).toContain('no answer within 1500 ms');
  });

  it('never follows a redirect: a 3xx is a failed attempt and the other host hears nothing', async () => {
    const s = await setUp();
    const elsewhere = await startReceiver();
    try {
      receiver.redirectTo(elsewhere.url);
      let redirects = 0;
      receiver.answer(() => (redirects++ < 2 ? 307 : 204));
      const id = await s.append('account.resumed', { id: 'acct-1', provider: 'vvtool' });
      s.start();
      await until('delivered after two redirects', () => receiver.delivered().has(`evt_${id}`));
      expect(attemptsOf(id).map((item) => item.answer)).toEqual([307, 307, 204]);
      expect(elsewhere.received).toEqual([]);
      expect(s.log()).toContain('redirects are not followed');
    } finally {
      await elsewhere.close();
    }
  });

  it('parks an event after the last retry, with a log line and the undeliverable count', async () => {
    const s = await setUp({ retryDelaysMs: [30, 30] });
    receiver.answer(() => 503);
    const id = await s.append('job.completed', sampleEvents('acct-1')['job.completed']);
    s.start();
    const keys = webhookKeys(s.prefix);
    await until('parked', async () => (await r.redis.xlen(keys.undeliverable)) === 1);
    expect(attemptsOf(id)).toHaveLength(3);
    const [[, flat]] = (await r.redis.xrange(keys.undeliverable, '-', '+')) as [[string, string[]]];
    expect(flat).toEqual(expect.arrayContaining(['id', id, 'attempts', '3', 'error', 'HTTP 503']));
    await until('one counted as undeliverable', async () => (await s.counter('undeliverable')) === 1);
    expect(await s.counter('retry')).toBe(2);
    expect(s.log()).toContain('webhook undeliverable');
    expect(s.log()).toContain(`evt_${id}`);
    // Given up is not "waiting": the age gauge does not count it, and no retry state is left.
    expect(await oldestUndeliveredMs(r.redis, s.prefix)).toBeNull();
    expect(await r.redis.zcard(keys.due)).toBe(0);
    expect(await r.redis.zcard(keys.age)).toBe(0);
  });

  it('reports the age of the oldest undelivered event while the receiver fails', async () => {
    const s = await setUp({ retryDelaysMs: [60_000] });
    receiver.answer(() => 500);
    const old = Date.now();
    await s.append('account.resumed', { id: 'acct-1', provider: 'vvtool' });
    expect(await oldestUndeliveredMs(r.redis, s.prefix)).toBeNull(); // no deliverer has read it yet
    s.start();
    await until('first attempt failed', async () => (await r.redis.zcard(webhookKeys(s.prefix).age)) === 1);
    const age = await until('an age above zero', async () => {
      const ms = await oldestUndeliveredMs(r.redis, s.prefix);
      return ms !== null && ms > 0 ? ms : undefined;
    });
    expect(age).toBeLessThanOrEqual(Date.now() - old + 1_000);
    // The same figure as Prometheus scrapes it, read from Redis by whichever process is scraped.
    const service = new Fulfillment(loadConfig({ REDIS_URL: r.url, FULFILLMENT_PREFIX: s.prefix }), r.redis);
    try {
      const metrics = new Metrics({ defaultMetrics: false }).watch(service);
      const text = await metrics.scrape();
      const seconds = Number(/^fulfillment_webhook_oldest_undelivered_seconds (\S+)$/m.exec(text)?.[1]);
      expect(seconds).toBeGreaterThanOrEqual(age / 1000);
    } finally {
      await service.close();
    }
    // A new event that nobody has read yet counts too, but the oldest wins.
    await s.append('account.resumed', { id: 'acct-2', provider: 'vvtool' });
    expect(await oldestUndeliveredMs(r.redis, s.prefix)).toBeGreaterThanOrEqual(age);
  });

  it('shares the work between deliverers: without failures, each event is sent exactly once', async () => {
    const s = await setUp({ concurrency: 4 });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++)
      ids.push(await s.append('account.resumed', { id: `a-${i}`, provider: 'vvtool' }));
    s.start();
    s.start();
    s.start();
    await until('all delivered', () => receiver.delivered().size === ids.length);
    const counts = new Map<string, number>();
    for (const item of receiver.received) {
      const id = String(item.headers['webhook-id']);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(ids.map((id) => `evt_${id}`))).toEqual(new Set(counts.keys()));
  });

  it('keeps at most `concurrency` attempts open against a hanging receiver, waiting on its own connection', async () => {
    const s = await setUp({ concurrency: 3, timeoutMs: 500, retryDelaysMs: [60_000] });
    receiver.answer(() => 'hang');
    const ids: string[] = [];
    for (let i = 0; i < 9; i++)
      ids.push(await s.append('account.resumed', { id: `h-${i}`, provider: 'vvtool' }));
    s.start();
    await until('each tried once', () => ids.every((id) => attemptsOf(id).length === 1), {
      timeoutMs: 20_000,
    });
    expect(Math.max(...receiver.received.map((item) => item.hangingAtArrival))).toBeLessThanOrEqual(2);
    // Idle now (the retries are a minute away): it waits for new entries blocked on a connection of
    // its own, never on the one it was given, which the process's other work uses.
    const given = Number(await r.redis.client('ID'));
    await until('blocked on its own connection', async () => {
      const clients = String(await r.redis.client('LIST')).split('\n');
      const blocked = clients.filter(
        (line) => / name=fulfillment-webhooks-wait /.test(line) && / cmd=xread /.test(line),
      );
      // (Deliverers of other test files may be blocked too, under the same name.)
      return blocked.length >= 1 && blocked.every((line) => !line.startsWith(`id=${given} `));
    });
  });

  it('reuses kept-alive connections: no more of them than attempts in flight', async () => {
    const s = await setUp({ concurrency: 2 });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++)
      ids.push(await s.append('account.resumed', { id: `k-${i}`, provider: 'vvtool' }));
    s.start();
    await until('all delivered', () => receiver.delivered().size === ids.length);
    expect(new Set(receiver.received.map((item) => item.socket)).size).toBeLessThanOrEqual(2);
  });

  it('sends once more on a fresh connection when a kept-alive one is closed under the request', async () => {
    const s = await setUp({ concurrency: 1 });
    const served = new Set<number>();
    let dropped = 0;
    receiver.answer(({ socket }) => {
      // The first request that reuses a connection finds it closed by the receiver.
      if (served.has(socket) && dropped === 0) {
        dropped += 1;
        return 'drop';
      }
      served.add(socket);
      return 204;
    });
    s.start();
    const first = await s.append('account.resumed', { id: 'acct-1', provider: 'vvtool' });
    await until('the first delivered', () => receiver.delivered().has(`evt_${first}`));
    const second = await s.append('account.resumed', { id: 'acct-2', provider: 'vvtool' });
    await until('the second delivered', () => receiver.delivered().has(`evt_${second}`));
    expect(attemptsOf(second).map((item) => item.answer)).toEqual(['drop', 204]);
    const [dropped1, sent] = attemptsOf(second);
    expect(dropped1!.socket).toBe(attemptsOf(first)[0]!.socket);
    expect(sent!.socket).not.toBe(dropped1!.socket);
    expect(sent!.body).toBe(dropped1!.body);
    // One attempt as far as the schedule goes: delivered, never counted as a failure.
    await until('two counted as delivered', async () => (await s.counter('delivered')) === 2);
    expect(await s.counter('retry')).toBe(0);
  });

  it('acknowledges what it delivered before close() returns, though acknowledgements wait to be batched', async () => {
    const s = await setUp({ batchWaitMs: 60_000 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(await s.append('account.resumed', { id: `c-${i}`, provider: 'vvtool' }));
    const deliverer = s.start();
    await until('all delivered', () => receiver.delivered().size === ids.length);
    // Delivered, but the acknowledgements still wait for the batch (a minute here).
    const pending = async () =>
      Number(((await r.redis.xpending(outboxKey(s.prefix), 'webhooks')) as [number])[0]);
    expect(await pending()).toBe(ids.length);
    await deliverer.close();
    expect(await pending()).toBe(0);
    expect(await s.counter('delivered')).toBe(ids.length);
    expect(await oldestUndeliveredMs(r.redis, s.prefix)).toBeNull();
  });

  it('skips records of types it does not know (another consumer of the outbox) without sending them', async () => {
    const s = await setUp();
    await r.redis.xadd(
      outboxKey(s.prefix),
      '*',
      'type',
      'ledger.entry',
      'at',
      String(Date.now()),
      'data',
      '{}',
    );
    const id = await s.append('account.resumed', { id: 'acct-1', provider: 'vvtool' });
    s.start();
    await until('the event delivered', () => receiver.delivered().has(`evt_${id}`));
    expect(receiver.received).toHaveLength(1);
    // Both acknowledged: the trimmer takes both.
    await until('both trimmed', async () => {
      await trimOutbox(r.redis, s.prefix);
      return (await r.redis.xlen(outboxKey(s.prefix))) === 0;
    });
  });
});
