import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { appendEvent, EVENT_TYPES } from '../../src/events/index.js';
import { outboxKey, webhookKeys } from '../../src/keys.js';
import { createLogger } from '../../src/log.js';
import type { Closer } from '../../src/runtime/shutdown.js';
import { startEventDelivery } from '../../src/webhooks/index.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';
import { newSecret, sampleEvents } from './fixtures.js';
import { type Receiver, startReceiver } from './receiver.js';

// The plumbing as a process starts it, from the environment: accounts with tokens, API keys, a
// webhook. Events carry account ids only; one appended by a careless emitter carries a token anyway.
let r: TestRedis;
let receiver: Receiver;
let events: Closer | undefined;

beforeAll(async () => {
  r = await testRedis('webhook-secrets');
  receiver = await startReceiver();
});
afterAll(async () => {
  await events?.close(true);
  await receiver?.close();
  await r?.cleanup();
});

/** Every value under the prefix, whatever its type, as one string to search. */
async function dumpRedis(prefix: string): Promise<string> {
  const keys = await r.redis.keys(`${prefix}:*`);
  const parts: string[] = [];
  for (const key of keys) {
    const type = await r.redis.type(key);
    if (type === 'string') parts.push(String(await r.redis.get(key)));
    if (type === 'hash') parts.push(JSON.stringify(await r.redis.hgetall(key)));
    if (type === 'zset') parts.push(JSON.stringify(await r.redis.zrange(key, '0', '-1')));
    if (type === 'stream') parts.push(JSON.stringify(await r.redis.xrange(key, '-', '+')));
  }
  return parts.join('\n');
}

describe('credentials and events', () => {
  it('never sends a token or API key: events carry ids, and one that carries a token is parked unsent', async () => {
    const tokens = ['acct-a', 'acct-b'].map((id) => ({
      id,
      token: `tok-${randomBytes(16).toString('hex')}`,
    }));
    const apiKeys = [randomBytes(16).toString('hex'), randomBytes(16).toString('hex')];
    const secret = newSecret();
    const config = loadConfig({
      REDIS_URL: r.url,
      FULFILLMENT_PREFIX: r.prefix,
      FULFILLMENT_ACCOUNTS: JSON.stringify(
        tokens.map(({ id, token }) => ({ id, provider: 'vvtool', token })),
      ),
      API_KEYS: apiKeys.join(','),
      WEBHOOK_URL: receiver.url,
      WEBHOOK_SECRET: secret,
    });
    const lines = new PassThrough();
    let log = '';
    lines.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    const ids: string[] = [];
    for (const { id } of tokens) {
      const samples = sampleEvents(id);
      for (const type of EVENT_TYPES) ids.push(await appendEvent(r.redis, r.prefix, type, samples[type]));
    }
    const careless = await appendEvent(r.redis, r.prefix, 'account.held', {
      ...sampleEvents('acct-a')['account.held'],
      reason: `token ${tokens[0]!.token} rejected`,
    });

    events = startEventDelivery({
      config,
      redis: r.redis,
      log: createLogger({ level: 'info', destination: lines }),
      trimEveryMs: 50,
      deliverer: { pollMs: 50, retryDelaysMs: [50] },
    });
    const keys = webhookKeys(r.prefix);
    await until('every good event delivered', () => ids.every((id) => receiver.delivered().has(`evt_${id}`)));
    await until('the careless one parked', async () => (await r.redis.xlen(keys.undeliverable)) === 1);
    // The stream is trimmed once every event in it is settled.
    await until('the outbox trimmed', async () => (await r.redis.xlen(outboxKey(r.prefix))) === 0);

    expect(receiver.received.map((item) => item.headers['webhook-id'])).not.toContain(`evt_${careless}`);
    const sent = receiver.received.map((item) => `${JSON.stringify(item.headers)}\n${item.body}`).join('\n');
    const stored = await dumpRedis(r.prefix);
    for (const credential of [...tokens.map(({ token }) => token), ...apiKeys, secret.slice(6)]) {
      expect(sent).not.toContain(credential);
      expect(log).not.toContain(credential);
      expect(stored).not.toContain(credential);
    }
    expect(stored).toContain(careless); // parked, without its data
    expect(log).toContain('carries a configured credential');
  });
});
