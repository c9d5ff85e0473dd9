import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { AUTH, SECRETS, shipBody, testEnv } from '../api/harness.js';
import { deleteByPrefix, type TestRedis, testRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';
import { type NodeChild, spawnNodeProcess } from '../ops/node-process.js';
import { type TestDatabase, testDatabase } from './db.js';

/** What the routes this test reads answer: a job view, or a list or summary page. */
type Answer = { state?: string; items: Array<{ id: string; state?: string }> } & Record<string, unknown>;

/** `npm start` with DATABASE_URL: the records reach PostgreSQL and outlive Redis. */
let t: TestRedis;
let db: TestDatabase;
let sandbox: Sandbox;
let child: NodeChild | undefined;

beforeAll(async () => {
  t = await testRedis('records-process');
  db = await testDatabase();
  sandbox = await startSandbox({
    accounts: [
      { label: 'vv1', provider: 'vvtool', token: SECRETS.vvToken },
      { label: 'dm1', provider: 'damaijia', token: SECRETS.dmToken },
    ],
  });
});

afterAll(async () => {
  await child?.stop();
  await sandbox?.close();
  await db?.drop();
  await t?.cleanup();
});

async function address(c: NodeChild): Promise<string> {
  return until(
    'the HTTP API to listen',
    () => {
      for (const line of c.stdout().split('\n')) {
        if (!line.includes('HTTP API listening')) continue;
        return `http://127.0.0.1:${new URL((JSON.parse(line) as { address: string }).address).port}`;
      }
      if (c.process.exitCode !== null) throw new Error(`exited: ${c.stderr()}`);
      return undefined;
    },
    { timeoutMs: 30_000 },
  );
}

describe('npm start with DATABASE_URL', () => {
  it('ships while the database is away (records wait, counted), stores them when it returns; after Redis loses everything they answer the same', async () => {
    // Away from the start: the process starts anyway, and tries its migrations again.
    await db.allowConnections(false);
    child = spawnNodeProcess(['--import', 'tsx', 'workers/all.ts'], {
      ...testEnv(t),
      PORT: '0',
      LOG_LEVEL: 'info',
      VVTOOL_BASE_URL: sandbox.url,
      DAMAIJIA_BASE_URL: sandbox.url,
      REDIS_ALLOW_EVICTION: 'true',
      SHUTDOWN_GRACE_MS: '5000',
      DATABASE_URL: db.url,
    });
    const base = await address(child);
    const get = async (path: string) =>
      (await fetch(`${base}${path}`, { headers: AUTH })).json() as Promise<Answer>;
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const response = await fetch(`${base}/v1/ship`, {
        method: 'POST',
        headers: { ...AUTH, 'content-type': 'application/json' },
        body: JSON.stringify(shipBody({ tid: String(5000 + i), out_sid: `YT77000000${i}` })),
      });
      expect(response.status).toBe(202);
      ids.push(((await response.json()) as { id: string }).id);
    }
    await until(
      'every job completed',
      async () => {
        for (const id of ids) {
          const view = await get(`/v1/jobs/${id}`);
          if (view.state !== 'completed') throw new Error(JSON.stringify(view));
        }
        return true;
      },
      { timeoutMs: 30_000 },
    );
    const waiting = async () =>
      Number(
        /\nfulfillment_records_waiting (\S+)\n/.exec(await (await fetch(`${base}/metrics`)).text())?.[1],
      );
    // Every charge and every job.completed waits in Redis; nothing reached the database.
    expect(await waiting()).toBe(40);
    await db.allowConnections(true);
    await until(
      'the sink caught up',
      async () => /\nfulfillment_records_waiting 0\n/.test(await (await fetch(`${base}/metrics`)).text()),
      { timeoutMs: 30_000 },
    );
    const summary = await get('/v1/ledger/summary?groupBy=account');
    expect(summary.calls).toBe(20);
    const entries = await get('/v1/ledger/entries');
    const listed = await get('/v1/jobs?state=completed');
    expect(listed.items.map((j: { id: string }) => j.id).sort()).toEqual([...ids].sort());

    await deleteByPrefix(t.redis, t.prefix); // this namespace's FLUSHALL
    expect(await get('/v1/ledger/summary?groupBy=account')).toEqual(summary);
    expect((await get('/v1/ledger/entries')).items.map((e: { id: string }) => e.id)).toEqual(
      entries.items.map((e: { id: string }) => e.id),
    );
    for (const id of ids) expect(await get(`/v1/jobs/${id}`)).toMatchObject({ id, state: 'completed' });
    expect(await child.stop()).toBe(0);
    const output = child.stdout() + child.stderr();
    for (const secret of Object.values(SECRETS)) expect(output).not.toContain(secret);
    expect(output).not.toContain(db.url);
  });
});
