import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectReadOnly } from '../../src/cli/ledger-source.js';
import type { CallContext, LedgerEntry, Summary } from '../../src/ledger/index.js';
import type { Fulfillment } from '../../src/queues/service.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../src/records/embedded.js';
import { migrate } from '../../src/records/migrate.js';
import { createPool } from '../../src/records/pool.js';
import { RecordsSink } from '../../src/records/sink.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';
import { type TestDatabase, testDatabase } from '../records/db.js';
import { cli, cliEnv, testService } from './cli.js';

/**
 * The records sink moves the ledger from Redis into PostgreSQL and trims it from Redis: the CLI's
 * `ledger summary` and `ledger export` must then read PostgreSQL (DATABASE_URL, or a running
 * embedded store), and say so on stderr when they can only read Redis.
 */

const call = (account: string, order: string, shop: string): CallContext => ({
  account,
  provider: account === 'dm1' ? 'damaijia' : 'vvtool',
  operation: account === 'dm1' ? 'damaijia.delivery' : 'vvtool.send',
  shop,
  order,
  jobId: `job.${account}.${order}`,
  attempt: 1,
});

/** The CLI's answers, each as it stands as text. */
interface Books {
  readonly summary: string;
  readonly byDay: string;
  readonly ranged: string;
  readonly csv: string;
  readonly json: string;
}

const ASKS = {
  summary: ['ledger', 'summary'],
  byDay: ['ledger', 'summary', '--group-by', 'day'],
  ranged: ['ledger', 'summary', '--from', '2024-05-02', '--to', '2024-05-03', '--json'],
  csv: ['ledger', 'export'],
  json: ['ledger', 'export', '--json'],
} as const;

/** Asks the CLI every question; each answer must come without a note on stderr. */
async function readBooks(env: Record<string, string>): Promise<Books> {
  const books: Record<string, string> = {};
  for (const [name, argv] of Object.entries(ASKS)) {
    const run = await cli(argv, env);
    expect(run.code, name).toBe(0);
    expect(run.stderr, name).toBe('');
    books[name] = run.stdout;
  }
  return books as unknown as Books;
}

/** Settles four charged calls in Redis; the CLI's answers then, read from Redis alone. */
async function settleAndRead(service: Fulfillment, t: TestRedis): Promise<Books> {
  const { ledger } = service;
  await ledger.settle(call('vv1', '100', 'shop-1'), { amount: 0.3 }, Date.parse('2024-05-01T10:00:00Z'));
  await ledger.settle(call('vv1', '101', 'shop-2'), { amount: 0.2 }, Date.parse('2024-05-02T10:00:00Z'));
  await ledger.settle(call('dm1', '200', 'nick'), { amount: 1.5 }, Date.parse('2024-05-02T12:00:00Z'));
  await ledger.settle(call('dm1', '201', 'nick'), { unknown: true }, Date.parse('2024-05-03T00:00:00Z'));
  const books = await readBooks({ ...cliEnv(t), EMBEDDED_PG_DIR: 'off' });
  expect(books.summary).toBe('KEY  TOTAL  CALLS  UNKNOWN\nall      2      4        1\n');
  expect(JSON.parse(books.ranged)).toMatchObject({ total: 1.7, calls: 2, unknown: 0 });
  expect(books.csv.split('\r\n')).toHaveLength(6); // header, 4 entries, and the empty rest
  expect(JSON.parse(books.json) as LedgerEntry[]).toHaveLength(4);
  return books;
}

/** Migrates the store, moves every ledger entry of the prefix into it, and checks Redis holds none. */
async function sinkInto(url: string, t: TestRedis, service: Fulfillment): Promise<void> {
  const pool = createPool(url, () => {});
  try {
    await migrate(pool);
    const sink = new RecordsSink({ redis: t.redis, pool, prefix: t.prefix });
    await sink.drain();
    const stored = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger_entries');
    expect(stored.rows[0]!.n).toBe(4);
  } finally {
    await pool.end();
  }
  expect(await service.ledger.summary()).toEqual({ total: 0, calls: 0, unknown: 0, groups: [] });
}

/** The CLI's answers over SQL are, byte for byte, what they were over Redis before the sink. */
async function expectBooks(env: Record<string, string>, before: Books): Promise<void> {
  expect(await readBooks(env)).toEqual(before);
}

describe('with DATABASE_URL', () => {
  let t: TestRedis;
  let db: TestDatabase;
  let service: Fulfillment;

  beforeAll(async () => {
    t = await testRedis('cli-ledger-sql-db');
    db = await testDatabase();
    service = testService(t);
  });
  afterAll(async () => {
    await service?.close();
    await db?.drop();
    await t?.cleanup();
  });

  it('summary and export show the entries the sink stored in SQL and trimmed from Redis', async () => {
    const books = await settleAndRead(service, t);
    await sinkInto(db.url, t, service);
    await expectBooks({ ...cliEnv(t), DATABASE_URL: db.url }, books);
  });

  it('reads through read-only connections: the books cannot be changed from the CLI', async () => {
    const pool = await connectReadOnly(db.url);
    try {
      await expect(pool.query('DELETE FROM ledger_entries')).rejects.toThrow(/read-only transaction/);
    } finally {
      await pool.end();
    }
  });

  it('an unreachable database is a failure naming it, without its password', async () => {
    const run = await cli(['ledger', 'summary'], {
      ...cliEnv(t),
      DATABASE_URL: 'postgres://postgres:pw-never-shown@127.0.0.1:1/nowhere',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /cannot reach the records database at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1/,
    );
    expect(run.stderr).not.toContain('pw-never-shown');
  });
});

describe('with the embedded store', () => {
  let t: TestRedis;
  let service: Fulfillment;
  let root: string;
  let dir: string;
  let server: EmbeddedPostgres | undefined;

  beforeAll(async () => {
    t = await testRedis('cli-ledger-sql-embedded');
    service = testService(t);
    root = mkdtempSync(join(tmpdir(), 'fulfill-cli-pg-'));
    // Run as root, the server runs as `postgres`, which must be able to enter the parent directory.
    chmodSync(root, 0o755);
    dir = join(root, 'pg');
  });
  afterAll(async () => {
    await server?.stop(true);
    await service?.close();
    await t?.cleanup();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('reads a running embedded server through its socket, and leaves it running', async () => {
    server = await startEmbeddedPostgres({ dir });
    const books = await settleAndRead(service, t);
    await sinkInto(server.url, t, service);
    await expectBooks({ ...cliEnv(t), EMBEDDED_PG_DIR: dir }, books);
    expect(() => process.kill(server!.pid, 0)).not.toThrow();
  });

  it('with its server stopped, reads Redis and says on stderr the books may be incomplete', async () => {
    await server?.stop();
    server = undefined;
    const run = await cli(['ledger', 'summary', '--json'], { ...cliEnv(t), EMBEDDED_PG_DIR: dir });
    expect(run.code).toBe(0);
    expect(run.json<Summary>()).toEqual({ total: 0, calls: 0, unknown: 0, groups: [] });
    expect(run.stderr).toBe(
      `ledger read from Redis alone, the books may be incomplete: no embedded records store running in ${dir} (its server is not running)\n`,
    );
    const missing = join(root, 'absent');
    const nowhere = await cli(['ledger', 'export'], { ...cliEnv(t), EMBEDDED_PG_DIR: missing });
    expect(nowhere.code).toBe(0);
    expect(nowhere.stderr).toMatch(/books may be incomplete: .*absent \(no such directory\)\n$/);
    expect(nowhere.stderr.split('\n')).toHaveLength(2); // one line
  });

  it('with its server killed (pid file and socket left behind), falls back to Redis with the reason', async () => {
    const killed = await startEmbeddedPostgres({ dir });
    process.kill(killed.pid, 'SIGKILL');
    await killed.stop();
    const run = await cli(['ledger', 'summary', '--json'], { ...cliEnv(t), EMBEDDED_PG_DIR: dir });
    expect(run.code).toBe(0);
    expect(run.json<Summary>()).toEqual({ total: 0, calls: 0, unknown: 0, groups: [] });
    expect(run.stderr).toMatch(
      /^ledger read from Redis alone, the books may be incomplete: cannot read the embedded records store in .*\(.*ECONNREFUSED.*\)\n$/,
    );
  });

  it('with EMBEDDED_PG_DIR=off no sink moves the ledger, so Redis is the books: no note', async () => {
    await service.ledger.settle(
      call('vv1', '300', 'shop-1'),
      { amount: 0.4 },
      Date.parse('2024-06-01T00:00:00Z'),
    );
    const run = await cli(['ledger', 'summary', '--json'], { ...cliEnv(t), EMBEDDED_PG_DIR: 'off' });
    expect(run.stderr).toBe('');
    expect(run.json<Summary>()).toMatchObject({ total: 0.4, calls: 1 });
  });
});
