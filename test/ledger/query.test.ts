import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ledger, LedgerEntry } from '../../src/ledger/index.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';
import { dmjCall, freshLedger, vvCall } from './fixtures.js';

let t: TestRedis;
beforeAll(async () => {
  t = await testRedis('ledger-query');
});
afterAll(async () => {
  await t.cleanup();
});

/** The last millisecond of 2024-03-01 (UTC); T0 + 1 is the first of 2024-03-02. */
const T0 = Date.UTC(2024, 2, 1, 23, 59, 59, 999);
const DAY = 86_400_000;

describe('summary', () => {
  let ledger: Ledger;
  beforeAll(async () => {
    ledger = freshLedger(t.redis, t.prefix);
    const a = { account: 'vv-a', shop: 's1' };
    await ledger.settle(vvCall(a), { amount: 2 }, T0);
    await ledger.settle(vvCall(a), { unknown: true }, T0 + 1);
    await ledger.settle(vvCall(a), { amount: 0 }, T0 + 1); // charged nothing: no entry
    await ledger.settle(dmjCall({ account: 'dmj-b', shop: 's2' }), { amount: 0.1 }, T0 + 1);
    await ledger.settle(
      dmjCall({ account: 'dmj-b', shop: 's3', operation: 'damaijia.sync' }),
      { amount: 0.2 },
      T0 + 2,
    );
    await ledger.settle(
      dmjCall({ account: 'dmj-b', shop: 's2', operation: 'damaijia.sync' }),
      { amount: 5 },
      T0 + 1 + DAY,
    );
  });

  it('totals everything without groupBy', async () => {
    expect(await ledger.summary({})).toEqual({ total: 7.3, calls: 5, unknown: 1, groups: [] });
  });

  it('groups by account', async () => {
    expect((await ledger.summary({ groupBy: 'account' })).groups).toEqual([
      { key: 'dmj-b', total: 5.3, calls: 3, unknown: 0 },
      { key: 'vv-a', total: 2, calls: 2, unknown: 1 },
    ]);
  });

  it('groups by shop', async () => {
    expect((await ledger.summary({ groupBy: 'shop' })).groups).toEqual([
      { key: 's1', total: 2, calls: 2, unknown: 1 },
      { key: 's2', total: 5.1, calls: 2, unknown: 0 },
      { key: 's3', total: 0.2, calls: 1, unknown: 0 },
    ]);
  });

  it('groups by operation', async () => {
    expect((await ledger.summary({ groupBy: 'operation' })).groups).toEqual([
      { key: 'damaijia.delivery', total: 0.1, calls: 1, unknown: 0 },
      { key: 'damaijia.sync', total: 5.2, calls: 2, unknown: 0 },
      { key: 'vvtool.send', total: 2, calls: 2, unknown: 1 },
    ]);
  });

  it('groups by UTC day', async () => {
    expect(await ledger.summary({ groupBy: 'day' })).toEqual({
      total: 7.3,
      calls: 5,
      unknown: 1,
      groups: [
        { key: '2024-03-01', total: 2, calls: 1, unknown: 0 },
        { key: '2024-03-02', total: 0.3, calls: 3, unknown: 1 },
        { key: '2024-03-03', total: 5, calls: 1, unknown: 0 },
      ],
    });
  });

  it('takes from inclusive and to exclusive', async () => {
    expect(await ledger.summary({ from: T0 + 1, to: T0 + 2 })).toMatchObject({
      total: 0.1,
      calls: 2,
      unknown: 1,
    });
    expect(await ledger.summary({ from: T0, to: T0 + 1 })).toMatchObject({ total: 2, calls: 1, unknown: 0 });
    expect(await ledger.summary({ from: T0 + 2 })).toMatchObject({ total: 5.2, calls: 2 });
    expect(await ledger.summary({ to: T0 + DAY })).toMatchObject({ total: 2.3, calls: 4 });
    expect(await ledger.summary({ to: T0, groupBy: 'shop' })).toEqual({
      total: 0,
      calls: 0,
      unknown: 0,
      groups: [],
    });
    expect(await ledger.summary({ from: T0 + 5, to: T0 + 1 })).toMatchObject({ calls: 0 });
  });

  it('refuses a bad range or groupBy', async () => {
    await expect(ledger.summary({ from: -1 })).rejects.toMatchObject({ kind: 'bad_query' });
    await expect(ledger.summary({ to: 1.5 })).rejects.toMatchObject({ kind: 'bad_query' });
    await expect(ledger.summary({ groupBy: 'order' as 'shop' })).rejects.toMatchObject({ kind: 'bad_query' });
  });
});

describe('entries', () => {
  const COUNT = 2_500;
  /** Only seven distinct milliseconds: hundreds of entries share each one. */
  const at = (i: number): number => T0 + (i % 7);
  let ledger: Ledger;
  let expected: string[];

  beforeAll(async () => {
    ledger = freshLedger(t.redis, t.prefix);
    const written = await Promise.all(
      Array.from({ length: COUNT }, (_, i) =>
        ledger.settle(vvCall({ account: `vv-${i % 3}` }), { amount: (i % 4) + 1 }, at(i)),
      ),
    );
    expected = written
      .map((e) => e!)
      .sort((a, b) => (a.at === b.at ? (a.id < b.id ? -1 : 1) : a.at < b.at ? -1 : 1))
      .map((e) => e.id);
  });

  async function pageAll(q: { from?: number; to?: number; limit?: number }): Promise<LedgerEntry[]> {
    const all: LedgerEntry[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 1_000; pages++) {
      const page = await ledger.entries({ ...q, ...(cursor ? { cursor } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(q.limit ?? 100);
      all.push(...page.items);
      if (page.next === null) return all;
      cursor = page.next;
    }
    throw new Error('cursor never ended');
  }

  it('pages through 2,500 entries sharing milliseconds: each exactly once, in time order', async () => {
    for (const limit of [100, 1_000, 7]) {
      const ids = (await pageAll({ limit })).map((e) => e.id);
      expect(ids).toHaveLength(COUNT);
      expect(new Set(ids).size).toBe(COUNT);
      expect(ids).toEqual(expected);
    }
  });

  it('defaults to 100 a page; a page that ends the range exactly says there is no next', async () => {
    const first = await ledger.entries({});
    expect(first.items).toHaveLength(100);
    expect(first.next).not.toBeNull();
    const inFirstMs = Array.from({ length: COUNT }, (_, i) => at(i)).filter((ms) => ms === T0).length;
    const whole = await ledger.entries({ from: T0, to: T0 + 1, limit: inFirstMs });
    expect(whole.items).toHaveLength(inFirstMs);
    expect(whole.next).toBeNull();
    const short = await ledger.entries({ from: T0, to: T0 + 1, limit: inFirstMs - 1 });
    expect(short.next).not.toBeNull();
    expect((await ledger.entries({ from: T0, to: T0 + 1, cursor: short.next! })).items).toEqual([
      whole.items.at(-1),
    ]);
  });

  it('pages a time range: from inclusive, to exclusive, cursor within it', async () => {
    const ranged = await pageAll({ from: T0 + 2, to: T0 + 4, limit: 50 });
    const want = Array.from({ length: COUNT }, (_, i) => at(i)).filter((ms) => ms >= T0 + 2 && ms < T0 + 4);
    expect(ranged).toHaveLength(want.length);
    for (const e of ranged) expect([T0 + 2, T0 + 3].map((ms) => new Date(ms).toISOString())).toContain(e.at);
    const inRange = new Set(ranged.map((e) => e.id));
    expect(ranged.map((e) => e.id)).toEqual(expected.filter((id) => inRange.has(id)));
  });

  it('summary walks the whole range in batches and counts every entry', async () => {
    const want = Array.from({ length: COUNT }, (_, i) => (i % 4) + 1).reduce((s, n) => s + n, 0);
    const summary = await ledger.summary({ groupBy: 'account' });
    expect(summary).toMatchObject({ total: want, calls: COUNT, unknown: 0 });
    expect(summary.groups.map((g) => g.calls).reduce((s, n) => s + n, 0)).toBe(COUNT);
  });

  it('refuses a limit out of 1..1000 and a cursor it did not hand out', async () => {
    for (const limit of [0, 1_001, 2.5]) {
      await expect(ledger.entries({ limit })).rejects.toMatchObject({ kind: 'bad_query' });
    }
    for (const cursor of ['nope', Buffer.from('123|x').toString('base64url'), '']) {
      await expect(ledger.entries({ cursor })).rejects.toMatchObject({ kind: 'bad_cursor' });
    }
  });
});
