import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendEvent, trimOutbox } from '../../src/events/index.js';
import { outboxKey } from '../../src/keys.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

let r: TestRedis;
let serial = 0;

beforeAll(async () => {
  r = await testRedis('outbox-trim');
});
afterAll(async () => {
  await r?.cleanup();
});

function freshPrefix(): string {
  serial += 1;
  return `${r.prefix}:${serial}`;
}

async function ids(prefix: string): Promise<string[]> {
  return (await r.redis.xrange(outboxKey(prefix), '-', '+')).map(([id]) => id);
}

describe('the outbox trimmer', () => {
  it('with no group reading, drops entries older than the retention only', async () => {
    const prefix = freshPrefix();
    const key = outboxKey(prefix);
    const now = Number((await r.redis.time())[0]) * 1000;
    await r.redis.xadd(key, `${now - 2 * 3_600_000}-0`, 'type', 'account.resumed', 'at', '0', 'data', '{}');
    await r.redis.xadd(key, `${now - 30 * 60_000}-0`, 'type', 'account.resumed', 'at', '0', 'data', '{}');
    const recent = await appendEvent(r.redis, prefix, 'account.resumed', { id: 'a', provider: 'vvtool' });
    expect(await trimOutbox(r.redis, prefix)).toBe(1);
    expect(await ids(prefix)).toEqual([`${now - 30 * 60_000}-0`, recent]);
    expect(await trimOutbox(r.redis, prefix)).toBe(0);
    expect(await trimOutbox(r.redis, freshPrefix())).toBe(0); // no stream at all
  });

  it('keeps what any group has not acknowledged or not read yet, and drops the rest', async () => {
    const prefix = freshPrefix();
    const key = outboxKey(prefix);
    await r.redis.xgroup('CREATE', key, 'webhooks', '0', 'MKSTREAM');
    await r.redis.xgroup('CREATE', key, 'records', '0');
    const e: string[] = [];
    for (let i = 0; i < 5; i++) {
      e.push(await appendEvent(r.redis, prefix, 'account.resumed', { id: `a${i}`, provider: 'vvtool' }));
    }
    // webhooks: read and acknowledged everything.
    await r.redis.xreadgroup('GROUP', 'webhooks', 'w1', 'COUNT', 10, 'STREAMS', key, '>');
    await r.redis.xack(key, 'webhooks', ...e);
    // records: read three, acknowledged two (e[2] still pending), not read e[3], e[4].
    await r.redis.xreadgroup('GROUP', 'records', 'r1', 'COUNT', 3, 'STREAMS', key, '>');
    await r.redis.xack(key, 'records', e[0]!, e[1]!);
    expect(await trimOutbox(r.redis, prefix)).toBe(2);
    expect(await ids(prefix)).toEqual(e.slice(2));

    await r.redis.xack(key, 'records', e[2]!);
    expect(await trimOutbox(r.redis, prefix)).toBe(1);
    expect(await ids(prefix)).toEqual(e.slice(3)); // unread by records: kept however old

    await r.redis.xreadgroup('GROUP', 'records', 'r1', 'COUNT', 10, 'STREAMS', key, '>');
    await r.redis.xack(key, 'records', e[3]!, e[4]!);
    expect(await trimOutbox(r.redis, prefix)).toBe(2);
    expect(await r.redis.xlen(key)).toBe(0);
  });

  it('forgets consumers that hold nothing and have been idle, and keeps those holding entries', async () => {
    const prefix = freshPrefix();
    const key = outboxKey(prefix);
    await r.redis.xgroup('CREATE', key, 'webhooks', '0', 'MKSTREAM');
    await appendEvent(r.redis, prefix, 'account.resumed', { id: 'a', provider: 'vvtool' });
    await r.redis.xreadgroup('GROUP', 'webhooks', 'holder', 'COUNT', 1, 'STREAMS', key, '>');
    await r.redis.xgroup('CREATECONSUMER', key, 'webhooks', 'gone');
    const names = async () =>
      ((await r.redis.xinfo('CONSUMERS', key, 'webhooks')) as unknown[][]).map((c) => String(c[1]));
    expect((await names()).sort()).toEqual(['gone', 'holder']);
    await until('the idle empty consumer forgotten', async () => {
      await trimOutbox(r.redis, prefix, { idleConsumerMs: 1 });
      const left = await names();
      return left.length === 1 ? left : undefined;
    });
    expect(await names()).toEqual(['holder']);
    expect(await r.redis.xlen(key)).toBe(1); // still pending for "holder"
  });
});
