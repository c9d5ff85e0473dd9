import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext } from '../../src/ledger/index.js';
import { SqlLedgerReader } from '../../src/records/ledger-reader.js';
import { RecordsSink } from '../../src/records/sink.js';
import { type MigratedDatabase, migratedDatabase } from '../records/db.js';
import { AUTH, type Harness, startHarness } from './harness.js';

const DAY1 = Date.UTC(2024, 4, 1, 8, 0, 0);
const DAY2 = Date.UTC(2024, 4, 2, 9, 30, 0);

const ctx = (overrides: Partial<CallContext>): CallContext => ({
  account: 'vv1',
  provider: 'vvtool',
  operation: 'vvtool.send',
  shop: 'shop-1',
  order: '1001',
  jobId: 'job-1',
  attempt: 1,
  ...overrides,
});

// The same answers whether the ledger is read from Redis or, with DATABASE_URL, from PostgreSQL.
for (const mode of ['redis', 'postgresql'] as const) {
  describe(`ledger routes reading ${mode}`, () => {
    let h: Harness;
    let db: MigratedDatabase | undefined;

    beforeAll(async () => {
      if (mode === 'postgresql') {
        db = await migratedDatabase();
      }
      h = await startHarness('api-ledger', {}, db ? { ledger: new SqlLedgerReader(db.pool) } : {});
      const { ledger } = h.service;
      await ledger.settle(ctx({ jobId: 'a' }), { amount: 1.5 }, DAY1);
      await ledger.settle(ctx({ jobId: 'b', shop: 'shop-2' }), { amount: 2 }, DAY1 + 1000);
      await ledger.settle(
        ctx({
          jobId: 'c',
          account: 'dm1',
          provider: 'damaijia',
          operation: 'damaijia.delivery',
          shop: 'nick',
        }),
        { amount: 0.25 },
        DAY2,
      );
      await ledger.settle(ctx({ jobId: 'd' }), { unknown: true }, DAY2 + 1000);
      if (db) {
        // Every entry moves to PostgreSQL and leaves Redis: the answers below come from SQL alone.
        await new RecordsSink({ redis: h.service.redis, pool: db.pool, prefix: h.config.prefix }).drain();
        expect(await h.service.redis.zcard(`${h.config.prefix}:ledger:by-time`)).toBe(0);
      }
    });

    afterAll(async () => {
      expect(h.leakedSecrets()).toEqual([]);
      await h.close();
      await db?.close();
    });

    const get = (url: string) => h.inject({ url, headers: AUTH });

    describe('GET /v1/ledger/summary', () => {
      it('totals everything', async () => {
        const response = await get('/v1/ledger/summary');
        expect(response.statusCode).toBe(200);
        expect(response.json()).toEqual({ total: 3.75, calls: 4, unknown: 1, groups: [] });
      });

      it('groups by account, shop, operation and day', async () => {
        expect((await get('/v1/ledger/summary?groupBy=account')).json().groups).toEqual([
          { key: 'dm1', total: 0.25, calls: 1, unknown: 0 },
          { key: 'vv1', total: 3.5, calls: 3, unknown: 1 },
        ]);
        expect(
          (await get('/v1/ledger/summary?groupBy=day')).json().groups.map((g: { key: string }) => g.key),
        ).toEqual(['2024-05-01', '2024-05-02']);
        expect((await get('/v1/ledger/summary?groupBy=shop')).json().groups).toHaveLength(3);
        expect((await get('/v1/ledger/summary?groupBy=operation')).json().groups).toHaveLength(2);
      });

      it('takes from/to as ISO 8601 or epoch ms, to exclusive', async () => {
        const iso = (await get('/v1/ledger/summary?from=2024-05-02&to=2024-05-03T00:00:00Z')).json();
        expect(iso).toMatchObject({ total: 0.25, calls: 2, unknown: 1 });
        const epoch = (await get(`/v1/ledger/summary?from=${DAY1}&to=${DAY1 + 1000}`)).json();
        expect(epoch).toMatchObject({ total: 1.5, calls: 1 });
        const offset = (
          await get(`/v1/ledger/summary?to=${encodeURIComponent('2024-05-01T10:00:01.001+02:00')}`)
        ).json();
        expect(offset).toMatchObject({ total: 3.5, calls: 2 });
      });

      const refused: Array<[string, string]> = [
        ['?from=yesterday', 'from'],
        ['?to=2024-13-01', 'to'],
        ['?to=2024-02-30', 'to'],
        ['?from=-5', 'from'],
        ['?from=2024-05-03&to=2024-05-01', 'from'],
        ['?groupBy=month', 'groupBy'],
      ];
      for (const [query, path] of refused) {
        it(`400 naming ${path} for ${query}`, async () => {
          const response = await get(`/v1/ledger/summary${query}`);
          expect(response.statusCode).toBe(400);
          expect(response.json().issues.map((issue: { path: string }) => issue.path)).toEqual([path]);
        });
      }
    });

    describe('GET /v1/ledger/entries', () => {
      it('pages entries in time order, ISO times, unknown amounts null', async () => {
        const first = (await get('/v1/ledger/entries?limit=3')).json();
        expect(first.items.map((entry: { jobId: string }) => entry.jobId)).toEqual(['a', 'b', 'c']);
        expect(first.items[0]).toEqual({
          id: 'a#1',
          at: '2024-05-01T08:00:00.000Z',
          account: 'vv1',
          provider: 'vvtool',
          operation: 'vvtool.send',
          shop: 'shop-1',
          order: '1001',
          jobId: 'a',
          attempt: 1,
          amount: 1.5,
          status: 'charged',
        });
        const second = (await get(`/v1/ledger/entries?limit=3&cursor=${first.next}`)).json();
        expect(second.items).toEqual([
          expect.objectContaining({ jobId: 'd', amount: null, status: 'unknown' }),
        ]);
        expect(second.next).toBeNull();
      });

      it('defaults to JSON, 100 a page', async () => {
        const response = await get('/v1/ledger/entries?format=json');
        expect(response.headers['content-type']).toMatch(/^application\/json/);
        expect(response.json().items).toHaveLength(4);
      });

      it('streams CSV with format=csv', async () => {
        const response = await get('/v1/ledger/entries?format=csv&from=2024-05-02');
        expect(response.statusCode).toBe(200);
        expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
        expect(response.headers['content-disposition']).toMatch(/attachment/);
        const lines = response.body.split('\r\n').filter(Boolean);
        expect(lines[0]).toBe('id,at,account,provider,operation,shop,order,jobId,attempt,amount,status');
        expect(lines).toHaveLength(3);
        expect(lines[1]).toContain('damaijia.delivery');
        expect(lines[2]).toMatch(/,unknown$/);
      });

      const refused: Array<[string, string]> = [
        ['?limit=1001', 'limit'],
        ['?limit=-1', 'limit'],
        ['?cursor=not-a-cursor', 'cursor'],
        ['?format=xml', 'format'],
        ['?from=2024-05-01T25:00:00Z', 'from'],
        ['?format=csv&to=soon', 'to'],
      ];
      for (const [query, path] of refused) {
        it(`400 naming ${path} for ${query}`, async () => {
          const response = await get(`/v1/ledger/entries${query}`);
          expect(response.statusCode).toBe(400);
          expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
          expect(response.json().issues.map((issue: { path: string }) => issue.path)).toEqual([path]);
        });
      }
    });
  });
}
