import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger, LedgerError } from '../../src/ledger/index.js';
import { deleteByPrefix, type TestRedis, testRedis } from '../helpers/redis.js';
import { dmjCall, freshLedger, keysContaining, vvCall } from './fixtures.js';

let t: TestRedis;
beforeAll(async () => {
  t = await testRedis('ledger-settle');
});
afterAll(async () => {
  await t.cleanup();
});

const AT = Date.UTC(2024, 2, 1, 8, 30, 0, 123);

describe('settle', () => {
  it('writes one charged entry; a second settle of the same call returns null and adds nothing', async () => {
    const ledger = freshLedger(t.redis, t.prefix);
    const ctx = vvCall({ attempt: 2 });
    const first = await ledger.settle(ctx, { amount: 3 }, AT);
    expect(first).toEqual({
      id: `${ctx.jobId}#2`,
      at: '2024-03-01T08:30:00.123Z',
      account: 'vv-main',
      provider: 'vvtool',
      operation: 'vvtool.send',
      shop: 'shop-1',
      order: ctx.order,
      jobId: ctx.jobId,
      attempt: 2,
      amount: 3,
      status: 'charged',
    });
    expect(await ledger.settle(ctx, { amount: 3 }, AT + 5)).toBeNull();
    expect(await ledger.settle(ctx, { unknown: true }, AT + 6)).toBeNull();
    const page = await ledger.entries({});
    expect(page.items).toEqual([first]);
    expect(await ledger.summary({})).toEqual({ total: 3, calls: 1, unknown: 0, groups: [] });
  });

  it('another attempt of the same job is another entry', async () => {
    const ledger = freshLedger(t.redis, t.prefix);
    const ctx = dmjCall();
    await ledger.settle(ctx, { amount: 1 }, AT);
    await ledger.settle({ ...ctx, attempt: 2 }, { amount: 1 }, AT + 1);
    expect((await ledger.entries({})).items.map((e) => e.id)).toEqual([`${ctx.jobId}#1`, `${ctx.jobId}#2`]);
  });

  it('an answer that charged nothing makes no entry, and does not block a later charged attempt', async () => {
    const ledger = freshLedger(t.redis, t.prefix);
    const ctx = vvCall();
    expect(await ledger.settle(ctx, { amount: 0 }, AT)).toBeNull();
    expect((await ledger.entries({})).items).toEqual([]);
    expect(await ledger.summary({})).toEqual({ total: 0, calls: 0, unknown: 0, groups: [] });
    expect(await ledger.settle({ ...ctx, attempt: 2 }, { amount: 2 }, AT)).not.toBeNull();
  });

  it('an unanswered call is an unknown entry with amount null, not part of the total', async () => {
    const ledger = freshLedger(t.redis, t.prefix);
    const ctx = dmjCall({ operation: 'damaijia.sync', shop: 'owner-7', order: 'SN-7' });
    const entry = await ledger.settle(ctx, { unknown: true }, AT);
    expect(entry).toMatchObject({ amount: null, status: 'unknown', operation: 'damaijia.sync' });
    await ledger.settle(dmjCall(), { amount: 4 }, AT);
    expect(await ledger.summary({})).toEqual({ total: 4, calls: 2, unknown: 1, groups: [] });
    const stored = (await ledger.entries({})).items.find((e) => e.jobId === ctx.jobId);
    expect(stored).toEqual(entry);
  });

  it('keeps decimal amounts as reported', async () => {
    const ledger = freshLedger(t.redis, t.prefix);
    await ledger.settle(vvCall(), { amount: 0.1 }, AT);
    await ledger.settle(vvCall(), { amount: 0.2 }, AT);
    const { items } = await ledger.entries({});
    expect(items.map((e) => e.amount).sort()).toEqual([0.1, 0.2]);
    expect((await ledger.summary({})).total).toBe(0.3);
  });

  it('clears the in-flight mark whatever the settlement', async () => {
    const ledger = freshLedger(t.redis, t.prefix);
    const calls = [vvCall(), vvCall(), vvCall()];
    for (const ctx of calls) await ledger.markInflight(ctx, AT);
    expect(await t.redis.hlen(ledger.inflightKey())).toBe(3);
    const [charged, free, lost] = calls as [(typeof calls)[0], (typeof calls)[0], (typeof calls)[0]];
    await ledger.settle(charged, { amount: 1 }, AT);
    await ledger.settle(free, { amount: 0 }, AT);
    await ledger.settle(lost, { unknown: true }, AT);
    expect(await t.redis.exists(ledger.inflightKey())).toBe(0);
    // And a settle that finds the call already recorded clears its (new) mark too.
    await ledger.markInflight(charged, AT + 1);
    expect(await ledger.settle(charged, { amount: 1 }, AT + 2)).toBeNull();
    expect(await t.redis.exists(ledger.inflightKey())).toBe(0);
  });

  it('sets the key it is given in the same step, whether or not the call made an entry', async () => {
    const ledger = freshLedger(t.redis, t.prefix);
    const charged = vvCall();
    const free = vvCall();
    const key = (ctx: typeof charged) => `${t.prefix}:also:${ctx.jobId}`;
    await ledger.markInflight(charged, AT);
    const entry = await ledger.settle(charged, { amount: 1 }, AT, {
      alsoSet: { keys: [key(charged)], value: 'done-1', ttlMs: 60_000 },
    });
    expect(entry).toMatchObject({ amount: 1, status: 'charged' });
    expect(
      await ledger.settle(free, { amount: 0 }, AT, {
        alsoSet: { keys: [key(free)], value: 'done-0', ttlMs: 5_000 },
      }),
    ).toBeNull();
    expect(await t.redis.get(key(charged))).toBe('done-1');
    expect(await t.redis.get(key(free))).toBe('done-0');
    const ttl = await t.redis.pttl(key(charged));
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await t.redis.pttl(key(free))).toBeLessThanOrEqual(5_000);
    expect(await t.redis.exists(ledger.inflightKey())).toBe(0);
    // A bad time to live is refused before anything is written.
    const late = vvCall();
    await expect(
      ledger.settle(late, { amount: 1 }, AT, { alsoSet: { keys: [key(late)], value: 'x', ttlMs: 0 } }),
    ).rejects.toThrow(/ttlMs/);
    expect(await t.redis.exists(key(late))).toBe(0);
    expect((await ledger.entries({})).items.map((item) => item.jobId)).toEqual([charged.jobId]);
  });

  it('the in-flight mark can ride in a caller pipeline, and recovery reads it like markInflight', async () => {
    const ledger = freshLedger(t.redis, t.prefix);
    const ctx = vvCall();
    await t.redis
      .multi()
      .hset(ledger.inflightKey(), ledger.inflightField(ctx), ledger.inflightValue(ctx, AT))
      .exec();
    const other = freshLedger(t.redis, t.prefix);
    await other.markInflight(ctx, AT);
    expect(await t.redis.hgetall(ledger.inflightKey())).toEqual(await t.redis.hgetall(other.inflightKey()));
    expect(await ledger.recoverInflight(ctx.jobId)).toHaveLength(1);
  });

  it('concurrent settles of one call from several connections record it once', async () => {
    const connections = Array.from({ length: 6 }, () => new Redis(t.url, { maxRetriesPerRequest: null }));
    try {
      const prefix = `${t.prefix}:concurrent`;
      const ledgers = connections.map((c) => new Ledger(c, prefix));
      const calls = Array.from({ length: 40 }, (_, i) => vvCall({ attempt: (i % 3) + 1 }));
      for (const ctx of calls) await ledgers[0]!.markInflight(ctx, AT);
      const results = await Promise.all(
        calls.flatMap((ctx, i) =>
          ledgers.map((l, j) => l.settle(ctx, j % 2 === 0 ? { amount: 2 } : { unknown: true }, AT + i)),
        ),
      );
      expect(results.filter((r) => r !== null)).toHaveLength(calls.length);
      const written = new Set(results.filter((r) => r !== null).map((r) => r.id));
      expect(written.size).toBe(calls.length);
      expect(await t.redis.hlen(`${prefix}:ledger:entries`)).toBe(calls.length);
      expect(await t.redis.zcard(`${prefix}:ledger:by-time`)).toBe(calls.length);
      expect(await t.redis.exists(`${prefix}:ledger:inflight`)).toBe(0);
      expect((await ledgers[1]!.summary({})).calls).toBe(calls.length);
    } finally {
      for (const c of connections) c.disconnect();
    }
  });

  it('refuses a negative, non-finite or missing amount and a mismatched context, writing nothing', async () => {
    const ledger = freshLedger(t.redis, t.prefix);
    const ctx = vvCall();
    for (const bad of [{ amount: -1 }, { amount: Number.NaN }, { amount: Number.POSITIVE_INFINITY }, {}]) {
      await expect(ledger.settle(ctx, bad as { amount: number }, AT)).rejects.toMatchObject({
        name: 'LedgerError',
        kind: 'bad_settlement',
      });
    }
    await expect(ledger.settle({ ...ctx, operation: 'damaijia.sync' }, { amount: 1 }, AT)).rejects.toThrow(
      LedgerError,
    );
    await expect(ledger.settle({ ...ctx, attempt: -1 }, { amount: 1 }, AT)).rejects.toMatchObject({
      kind: 'bad_context',
    });
    await expect(ledger.markInflight({ ...ctx, jobId: '' }, AT)).rejects.toMatchObject({
      kind: 'bad_context',
    });
    await expect(ledger.settle(ctx, { amount: 1 }, 1.5)).rejects.toMatchObject({ kind: 'bad_context' });
    expect((await ledger.entries({})).items).toEqual([]);
  });
});

describe('hot path', () => {
  it('costs one round trip for markInflight and one for settle', async () => {
    const redis = new Redis(t.url, { maxRetriesPerRequest: null });
    try {
      const ledger = new Ledger(redis, `${t.prefix}:trips`);
      await ledger.settle(vvCall(), { amount: 1 }, AT); // loads the script on this server if it is new
      const sent: string[] = [];
      const send = redis.sendCommand.bind(redis);
      redis.sendCommand = (command, ...rest) => {
        sent.push(command.name);
        return send(command, ...rest);
      };
      const ctx = vvCall();
      await ledger.markInflight(ctx, AT);
      expect(sent).toEqual(['hset']);
      sent.length = 0;
      await ledger.settle(ctx, { amount: 2 }, AT);
      expect(sent).toEqual(['evalsha']);
    } finally {
      redis.disconnect();
    }
  });
});

describe('keys', () => {
  it('every key starts with "<prefix>:ledger:", also when the prefix is a cluster hash tag', async () => {
    const plain = new Ledger(t.redis, `${t.prefix}:plain`);
    const tagged = new Ledger(t.redis, `{${t.prefix}}`);
    try {
      for (const ledger of [plain, tagged]) {
        const ctx = vvCall();
        await ledger.markInflight(ctx, AT);
        await ledger.markInflight(vvCall(), AT);
        await ledger.settle(ctx, { amount: 1 }, AT);
        await ledger.settle(vvCall(), { unknown: true }, AT);
        await ledger.summary({ groupBy: 'day' });
        await ledger.entries({});
      }
      const keys = await keysContaining(t.redis, t.prefix);
      const ours = keys.filter((k) => k.startsWith(`${t.prefix}:plain:`) || k.startsWith(`{${t.prefix}}:`));
      expect(ours).toHaveLength(6);
      for (const key of ours) expect(key).toMatch(/^(.+:plain|\{.+\}):ledger:(inflight|entries|by-time)$/);
      for (const key of keys) expect(key.startsWith(t.prefix) || key.startsWith(`{${t.prefix}}:`)).toBe(true);
    } finally {
      await deleteByPrefix(t.redis, `{${t.prefix}}`);
    }
  });
});
