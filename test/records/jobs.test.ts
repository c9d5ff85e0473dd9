import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboxKey } from '../../src/keys.js';
import { SqlJobsReader } from '../../src/records/jobs-reader.js';
import type { Pool } from '../../src/records/pool.js';
import { RecordsSink } from '../../src/records/sink.js';
import { AUTH, type Harness, startHarness } from '../api/harness.js';
import { type MigratedDatabase, migratedDatabase } from './db.js';

let h: Harness;
let db: MigratedDatabase;
let pool: Pool;

const T0 = Date.UTC(2024, 4, 1, 8, 0, 0);

beforeAll(async () => {
  db = await migratedDatabase();
  pool = db.pool;
  h = await startHarness('records-jobs', {}, { jobs: new SqlJobsReader(pool) });
  const { redis } = h.service;
  const prefix = h.config.prefix;
  const sink = new RecordsSink({ redis, pool, prefix });
  await sink.moveEvents(); // the records group, so the outbox exists
  const add = (type: string, at: number, data: object) =>
    redis.xadd(outboxKey(prefix), '*', 'type', type, 'at', String(at), 'data', JSON.stringify(data));
  const base = { queue: 'ship', name: 'vvtool.send' };
  for (let i = 0; i < 5; i++) {
    await add('job.completed', T0 + i * 1000, {
      ...base,
      id: `ok-${i}`,
      account: i % 2 ? 'a2' : 'a1',
      result: 'shipped',
      charge: 1,
    });
  }
  await add('job.dead', T0 + 10_000, {
    ...base,
    id: 'gone',
    account: 'a1',
    code: 40,
    message: 'bad',
    reason: 'refused: bad',
    attemptsMade: 3,
  });
  // Died, was redriven, then completed: the job's row holds the later event.
  await add('job.dead', T0 + 20_000, {
    ...base,
    id: 'back',
    account: 'a1',
    code: 101,
    message: 't',
    reason: 'timeout',
    attemptsMade: 5,
  });
  await add('job.redriven', T0 + 21_000, { ...base, id: 'back', account: 'a1', patch: null });
  await add('job.completed', T0 + 22_000, {
    ...base,
    id: 'back',
    account: 'a1',
    result: 'shipped',
    charge: 0.5,
  });
  await sink.drain();
});

afterAll(async () => {
  expect(h.leakedSecrets()).toEqual([]);
  await h.close();
  await db.close();
});

const get = (url: string) => h.inject({ url, headers: AUTH });

describe('finished jobs from PostgreSQL', () => {
  it('GET /v1/jobs/:id answers for a job Redis no longer holds', async () => {
    const ok = await get('/v1/jobs/ok-0');
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({
      id: 'ok-0',
      queue: 'ship',
      name: 'vvtool.send',
      state: 'completed',
      attemptsMade: 0,
      result: { result: 'shipped', charge: 1, finishedAt: new Date(T0).toISOString() },
      lastError: null,
    });
    expect((await get('/v1/jobs/gone')).json()).toMatchObject({
      queue: 'dead-letter',
      state: 'dead',
      attemptsMade: 3,
      lastError: 'refused: bad',
    });
    expect((await get('/v1/jobs/back')).json()).toMatchObject({
      state: 'completed',
      result: { charge: 0.5 },
    });
    expect((await get('/v1/jobs/nobody')).statusCode).toBe(404);
  });

  it('GET /v1/jobs lists newest first, filtered, paged by an opaque cursor', async () => {
    const all = (await get('/v1/jobs')).json();
    expect(all.items.map((j: { id: string }) => j.id)).toEqual([
      'back',
      'gone',
      'ok-4',
      'ok-3',
      'ok-2',
      'ok-1',
      'ok-0',
    ]);
    expect(all.next).toBeNull();
    const dead = (await get('/v1/jobs?state=dead')).json();
    expect(dead.items.map((j: { id: string }) => j.id)).toEqual(['gone']);
    const a2 = (await get('/v1/jobs?account=a2&queue=ship')).json();
    expect(a2.items.map((j: { id: string }) => j.id)).toEqual(['ok-3', 'ok-1']);
    const range = (await get(`/v1/jobs?from=${T0 + 1000}&to=${T0 + 4000}`)).json();
    expect(range.items.map((j: { id: string }) => j.id)).toEqual(['ok-3', 'ok-2', 'ok-1']);
    const seen: string[] = [];
    let url = '/v1/jobs?limit=3';
    for (let page = 0; page < 10; page++) {
      const body = (await get(url)).json();
      seen.push(...body.items.map((j: { id: string }) => j.id));
      if (body.next === null) break;
      url = `/v1/jobs?limit=3&cursor=${body.next}`;
    }
    expect(seen).toEqual(all.items.map((j: { id: string }) => j.id));
  });

  it('refuses a cursor it did not hand out, and a state it does not list', async () => {
    const bad = await get('/v1/jobs?cursor=bm9wZQ');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues.map((i: { path: string }) => i.path)).toEqual(['cursor']);
    expect((await get('/v1/jobs?state=waiting')).statusCode).toBe(400);
  });
});

describe('without the records database', () => {
  it('GET /v1/jobs answers 501, saying what it needs', async () => {
    const plain = await startHarness('records-jobs-plain');
    try {
      const response = await plain.inject({ url: '/v1/jobs', headers: AUTH });
      expect(response.statusCode).toBe(501);
      expect(response.body).toContain('DATABASE_URL');
    } finally {
      await plain.close();
    }
  });
});
