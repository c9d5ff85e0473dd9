import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerKeys, outboxKey, RECORDS_GROUP } from '../../src/keys.js';
import { Ledger } from '../../src/ledger/index.js';
import { registerRecordsWaiting } from '../../src/records/metrics.js';
import { createPool, type Pool } from '../../src/records/pool.js';
import { RecordsSink } from '../../src/records/sink.js';
import { spawnNode } from '../helpers/processes.js';
import { deleteByPrefix, type TestRedis, testRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';
import { vvCall } from '../ledger/fixtures.js';
import { type MigratedDatabase, migratedDatabase } from './db.js';

describe('records sink', () => {
  let t: TestRedis;
  let db: MigratedDatabase;
  let pool: Pool;

  beforeAll(async () => {
    t = await testRedis('records-sink');
    db = await migratedDatabase();
    pool = db.pool;
  });
  afterAll(async () => {
    await db?.close();
    await t?.cleanup();
  });

  /** A namespace with the records group made, and `n` settled calls each with its job.completed event. */
  async function seed(n: number, prefix = `${t.prefix}:${randomUUID().slice(0, 8)}`) {
    const sink = new RecordsSink({ redis: t.redis, pool, prefix });
    await sink.moveEvents(); // makes the group (and the stream), so the settles record their events
    const ledger = new Ledger(t.redis, prefix);
    const jobIds: string[] = [];
    for (let i = 0; i < n; i++) {
      const ctx = vvCall({ jobId: `job-${prefix}-${i}` });
      jobIds.push(ctx.jobId);
      const data = {
        id: ctx.jobId,
        queue: 'ship',
        name: 'vvtool.send',
        account: ctx.account,
        result: 'shipped',
        charge: 0.1,
      };
      await ledger.settle(ctx, i % 10 === 9 ? { unknown: true } : { amount: 0.1 }, 1_700_000_000_000 + i, {
        event: { key: outboxKey(prefix), type: 'job.completed', data },
      });
    }
    return { prefix, jobIds, ledger };
  }

  async function stored(prefix: string) {
    const like = `job-${prefix}-%`;
    const entries = await pool.query<{ n: string; ids: string; total: string | null; unknown: string }>(
      `SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(amount)::text AS total,
        count(*) FILTER (WHERE status = 'unknown') AS unknown FROM ledger_entries WHERE job_id LIKE $1`,
      [like],
    );
    const jobs = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM jobs WHERE id LIKE $1`, [like]);
    const events = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM events WHERE data->>'id' LIKE $1`,
      [like],
    );
    const row = entries.rows[0]!;
    return {
      entries: Number(row.n),
      distinct: Number(row.ids),
      total: row.total,
      unknown: Number(row.unknown),
      jobs: Number(jobs.rows[0]!.n),
      events: Number(events.rows[0]!.n),
    };
  }

  async function redisFootprint(prefix: string) {
    return {
      entries: await t.redis.hlen(ledgerKeys(prefix).entries),
      byTime: await t.redis.zcard(ledgerKeys(prefix).byTime),
      outbox: await t.redis.xlen(outboxKey(prefix)),
    };
  }

  it('moves entries and events into PostgreSQL, then Redis holds none of them; they outlive a flush', async () => {
    const { prefix } = await seed(50);
    const sink = new RecordsSink({ redis: t.redis, pool, prefix, batch: 16 });
    expect(await sink.waiting()).toBe(100);
    expect(await sink.drain()).toBe(100);
    expect(await sink.waiting()).toBe(0);
    expect(await redisFootprint(prefix)).toEqual({ entries: 0, byTime: 0, outbox: 0 });
    await deleteByPrefix(t.redis, prefix);
    expect(await stored(prefix)).toEqual({
      entries: 50,
      distinct: 50,
      total: '4.5',
      unknown: 5,
      jobs: 50,
      events: 50,
    });
    const { rows } = await pool.query('SELECT state, result, charge::text FROM jobs WHERE id = $1', [
      `job-${prefix}-0`,
    ]);
    expect(rows).toEqual([{ state: 'completed', result: 'shipped', charge: '0.1' }]);
  });

  it('a late second settle of a call already moved lands in SQL once', async () => {
    const { prefix, ledger } = await seed(1);
    const sink = new RecordsSink({ redis: t.redis, pool, prefix });
    await sink.drain();
    const ctx = vvCall({ jobId: `job-${prefix}-0` });
    await ledger.settle(ctx, { amount: 0.1 }, 1_700_000_000_000);
    await sink.drain();
    expect((await stored(prefix)).entries).toBe(1);
    expect(await redisFootprint(prefix)).toEqual({ entries: 0, byTime: 0, outbox: 0 });
  });

  for (const hangAfter of ['entries', 'events'] as const) {
    it(`killed with SIGKILL between the commit of ${hangAfter} and Redis hearing of it: nothing lost, nothing twice`, async () => {
      const { prefix } = await seed(120);
      const child = spawnNode('test/records/sink-child.ts', {
        REDIS_URL: t.url,
        DATABASE_URL: db.url,
        PREFIX: prefix,
        HANG_AFTER: hangAfter,
        BATCH: '50',
      });
      await until('the child committed a batch', () => child.output().includes(`committed ${hangAfter}`), {
        timeoutMs: 20_000,
      });
      await child.stop('SIGKILL');
      const before = await redisFootprint(prefix);
      // The batch the child committed is still in Redis (entries) or pending to the dead consumer (events).
      if (hangAfter === 'entries') expect(before.entries).toBe(120);
      else expect(Number((await t.redis.xpending(outboxKey(prefix), RECORDS_GROUP))[0])).toBeGreaterThan(0);
      const sink = new RecordsSink({ redis: t.redis, pool, prefix, claimIdleMs: 0 });
      await sink.drain();
      expect(await stored(prefix)).toEqual({
        entries: 120,
        distinct: 120,
        total: '10.8',
        unknown: 12,
        jobs: 120,
        events: 120,
      });
      expect(await redisFootprint(prefix)).toEqual({ entries: 0, byTime: 0, outbox: 0 });
      expect(await sink.waiting()).toBe(0);
    });
  }

  it('two sinks at once store every record once', async () => {
    const { prefix } = await seed(600);
    const sinks = [1, 2].map(
      () => new RecordsSink({ redis: t.redis, pool, prefix, batch: 50, claimIdleMs: 0 }),
    );
    await Promise.all(sinks.map((s) => s.drain()));
    await sinks[0]!.drain();
    expect(await stored(prefix)).toEqual({
      entries: 600,
      distinct: 600,
      total: '54.0',
      unknown: 60,
      jobs: 600,
      events: 600,
    });
    expect(await redisFootprint(prefix)).toEqual({ entries: 0, byTime: 0, outbox: 0 });
  });

  it('while the database refuses connections, records wait in Redis (and the gauge counts them); then they arrive', async () => {
    const { prefix, ledger } = await seed(0);
    const sinkPool = createPool(db.url, () => {});
    const sink = new RecordsSink({ redis: t.redis, pool: sinkPool, prefix, idleMs: 20, retryMs: 50 });
    const registry = new Registry();
    registerRecordsWaiting(registry, sink);
    const gauge = async () =>
      (await registry.getSingleMetric('fulfillment_records_waiting')?.get())?.values[0]?.value;
    await db.allowConnections(false);
    try {
      sink.start();
      for (let i = 0; i < 200; i++) {
        const ctx = vvCall({ jobId: `job-${prefix}-${i}` });
        const data = {
          id: ctx.jobId,
          queue: 'ship',
          name: 'vvtool.send',
          account: ctx.account,
          result: 'shipped',
          charge: 1,
        };
        await ledger.settle(ctx, { amount: 1 }, 1_700_000_000_000 + i, {
          event: { key: outboxKey(prefix), type: 'job.completed', data },
        });
      }
      // The sink has tried and failed meanwhile: everything still waits.
      await until('the sink failed at least once', () => sink.failures > 0);
      expect(await gauge()).toBe(400);
    } finally {
      await db.allowConnections(true);
    }
    await until('the records arrived', async () => (await sink.waiting()) === 0, { timeoutMs: 20_000 });
    await sink.stop();
    await sinkPool.end();
    expect(await gauge()).toBe(0);
    expect(await stored(prefix)).toEqual({
      entries: 200,
      distinct: 200,
      total: '200',
      unknown: 0,
      jobs: 200,
      events: 200,
    });
    expect(await redisFootprint(prefix)).toEqual({ entries: 0, byTime: 0, outbox: 0 });
  });
});
