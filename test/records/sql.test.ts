import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxEvent } from '../../src/events/index.js';
import type { LedgerEntry } from '../../src/ledger/index.js';
import type { Pool } from '../../src/records/pool.js';
import { insertEntries, insertEvents, pgJson } from '../../src/records/sql.js';
import { type MigratedDatabase, migratedDatabase } from './db.js';

describe('records statements', () => {
  let db: MigratedDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await migratedDatabase();
    pool = db.pool;
  });
  afterAll(async () => {
    await db?.close();
  });

  it('pgJson turns lone surrogates into U+FFFD and leaves escaped backslashes and pairs alone', () => {
    expect(JSON.parse(pgJson({ s: 'a\ud800b' })).s).toBe('a\ufffdb');
    expect(JSON.parse(pgJson({ s: '\\ud800' })).s).toBe('\\ud800');
    expect(JSON.parse(pgJson({ s: '\\\ud800' })).s).toBe('\\\ufffd');
    expect(JSON.parse(pgJson({ s: 'ok 😀' })).s).toBe('ok 😀');
    expect(JSON.parse(pgJson({ s: 'nul\u0000here' })).s).toBe('nul\ufffdhere');
    expect(JSON.parse(pgJson({ s: '\\u0000' })).s).toBe('\\u0000');
  });

  it('stores exact decimals, and text with a lone surrogate instead of failing its batch forever', async () => {
    const tag = randomUUID().slice(0, 8);
    const entry: LedgerEntry = {
      id: `job-${tag}#1`,
      at: '2023-11-14T22:13:20.123Z',
      account: 'acct',
      provider: 'vvtool',
      operation: 'vvtool.send',
      shop: 'shop\ud800',
      order: '1',
      jobId: `job-${tag}`,
      attempt: 1,
      amount: 0.1,
      status: 'charged',
    };
    const dead = {
      id: '1700000000123-7',
      type: 'job.dead',
      at: 1_700_000_000_123,
      data: {
        id: `job-${tag}`,
        queue: 'ship',
        name: 'vvtool.send',
        account: 'acct',
        code: null,
        message: 'cut \udc00 here',
        reason: 'upstream',
        attemptsMade: 3,
      },
    } as unknown as OutboxEvent;
    const client = await pool.connect();
    try {
      expect(await insertEntries(client, [entry])).toBe(1);
      expect(await insertEntries(client, [entry])).toBe(0);
      await insertEvents(client, [dead]);
    } finally {
      client.release();
    }
    const e = await pool.query(
      `SELECT shop, amount::text AS amount, at = '2023-11-14T22:13:20.123Z'::timestamptz AS at_ok
       FROM ledger_entries WHERE id = $1`,
      [entry.id],
    );
    expect(e.rows).toEqual([{ shop: 'shop\ufffd', amount: '0.1', at_ok: true }]);
    const j = await pool.query(
      `SELECT state, message, code, attempts_made, result, event_ms::text AS ms, event_seq::text AS seq,
        finished_at = to_timestamp(1700000000.123) AS at_ok FROM jobs WHERE id = $1`,
      [`job-${tag}`],
    );
    expect(j.rows).toEqual([
      {
        state: 'dead',
        message: 'cut \ufffd here',
        code: null,
        attempts_made: 3,
        result: null,
        ms: '1700000000123',
        seq: '7',
        at_ok: true,
      },
    ]);
    const ev = await pool.query(`SELECT data->>'message' AS message, seq FROM events WHERE stream_id = $1`, [
      dead.id,
    ]);
    expect(ev.rows).toEqual([{ message: 'cut \ufffd here', seq: '7' }]);
  });

  it('stores a completed job whose event has no result (another writer) and text with a NUL', async () => {
    const tag = randomUUID().slice(0, 8);
    const completed = {
      id: '1700000000456-1',
      type: 'job.completed',
      at: 1_700_000_000_456,
      data: { id: `job-${tag}`, queue: 'ship', name: 'vvtool.send', account: 'acct\u0000x', attemptsMade: 1 },
    } as unknown as OutboxEvent;
    const client = await pool.connect();
    try {
      await insertEvents(client, [completed]);
    } finally {
      client.release();
    }
    const j = await pool.query('SELECT state, account, result FROM jobs WHERE id = $1', [`job-${tag}`]);
    expect(j.rows).toEqual([{ state: 'completed', account: 'acct\ufffdx', result: null }]);
  });
});
