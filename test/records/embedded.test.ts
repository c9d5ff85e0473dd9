import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordsKeys } from '../../src/keys.js';
import { EmbeddedStartError, EmbeddedUnavailable, findBinaries } from '../../src/records/embedded.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { AUTH, SECRETS, shipBody, testEnv } from '../api/harness.js';
import { deleteByPrefix, type TestRedis, testRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';
import { type NodeChild, spawnNodeProcess } from '../ops/node-process.js';

/**
 * `npm start` without DATABASE_URL: the records go to an embedded PostgreSQL in EMBEDDED_PG_DIR,
 * through the same sink and readers, and outlive Redis and a `kill -9`. One instance (one data
 * directory) for the whole file, started, killed and started again.
 */
type Answer = { state?: string; items: Array<{ id: string; state?: string }> } & Record<string, unknown>;

let t: TestRedis;
let sandbox: Sandbox;
let root: string;
let dir: string;
const children: NodeChild[] = [];

beforeAll(async () => {
  t = await testRedis('records-embedded');
  root = mkdtempSync(join(tmpdir(), 'fulfillment-embedded-test-'));
  // Run as root, the server runs as `postgres`, which must be able to enter the parent directory.
  chmodSync(root, 0o755);
  dir = join(root, 'pg');
  sandbox = await startSandbox({
    accounts: [
      { label: 'vv1', provider: 'vvtool', token: SECRETS.vvToken },
      { label: 'dm1', provider: 'damaijia', token: SECRETS.dmToken },
    ],
  });
});

afterAll(async () => {
  for (const child of children) await child.stop('SIGKILL');
  await sandbox?.close();
  await t?.cleanup();
  if (root) rmSync(root, { recursive: true, force: true });
});

function start(entry: 'workers/all.ts' | 'workers/api.ts' | 'workers/ship.ts', dataDir = dir): NodeChild {
  const child = spawnNodeProcess(['--import', 'tsx', entry], {
    ...testEnv(t),
    PORT: '0',
    LOG_LEVEL: 'info',
    VVTOOL_BASE_URL: sandbox.url,
    DAMAIJIA_BASE_URL: sandbox.url,
    REDIS_ALLOW_EVICTION: 'true',
    SHUTDOWN_GRACE_MS: '5000',
    METRICS_PORT: 'off',
    EMBEDDED_PG_DIR: dataDir,
  });
  children.push(child);
  return child;
}

/** The API's base URL and the embedded server's pid, from the log lines that name them. */
async function started(c: NodeChild): Promise<{ base: string; serverPid: number }> {
  const found = await until(
    'the HTTP API to listen',
    () => {
      if (c.process.exitCode !== null) return { exited: c.stderr() };
      let serverPid: number | undefined;
      for (const line of c.stdout().split('\n')) {
        if (line.includes('records kept in an embedded PostgreSQL')) {
          const parsed = JSON.parse(line) as { dir: string; serverPid: number; msg: string };
          expect(parsed.dir).toBe(dir);
          expect(parsed.msg).toContain(dir);
          serverPid = parsed.serverPid;
        }
        if (line.includes('HTTP API listening') && serverPid !== undefined) {
          const port = new URL((JSON.parse(line) as { address: string }).address).port;
          return { base: `http://127.0.0.1:${port}`, serverPid };
        }
      }
      return undefined;
    },
    { timeoutMs: 45_000 },
  );
  if ('exited' in found) throw new Error(`exited: ${found.exited}`);
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const get = async (base: string, path: string) =>
  (await fetch(`${base}${path}`, { headers: AUTH })).json() as Promise<Answer>;

const caughtUp = (base: string) =>
  until(
    'the sink caught up',
    async () => /\nfulfillment_records_waiting 0\n/.test(await (await fetch(`${base}/metrics`)).text()),
    { timeoutMs: 30_000 },
  );

describe('npm start without DATABASE_URL: the embedded PostgreSQL', () => {
  const ids: string[] = [];
  let entries: string[] = [];

  it('keeps the ledger and finished jobs in it, read back through GET /v1/jobs and the ledger routes', async () => {
    const first = start('workers/all.ts');
    const { base, serverPid } = await started(first);
    expect(alive(serverPid)).toBe(true);
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`${base}/v1/ship`, {
        method: 'POST',
        headers: { ...AUTH, 'content-type': 'application/json' },
        body: JSON.stringify(shipBody({ tid: String(6100 + i), out_sid: `YT88000000${i}` })),
      });
      expect(response.status).toBe(202);
      ids.push(((await response.json()) as { id: string }).id);
    }
    await until(
      'every job completed',
      async () => {
        for (const id of ids) if ((await get(base, `/v1/jobs/${id}`)).state !== 'completed') return false;
        return true;
      },
      { timeoutMs: 30_000 },
    );
    await caughtUp(base);
    // Redis no longer holds the entries: what the ledger answers comes from PostgreSQL.
    expect(await t.redis.hlen(`${t.prefix}:ledger:entries`)).toBe(0);
    entries = (await get(base, '/v1/ledger/entries')).items.map((e) => e.id);
    expect(entries).toHaveLength(6);
    const listed = await get(base, '/v1/jobs?state=completed');
    expect(listed.items.map((j) => j.id).sort()).toEqual([...ids].sort());

    // A second API process on the same prefix is refused at once, naming DATABASE_URL, touching nothing.
    const other = join(root, 'other');
    const second = start('workers/api.ts', other);
    expect(await second.exited()).toBe(1);
    expect(second.stderr()).toMatch(/another API process .* keeps this deployment's records/);
    expect(second.stderr()).toContain('DATABASE_URL');
    expect(existsSync(other)).toBe(false);
    expect(alive(serverPid)).toBe(true);

    // kill -9: the server follows its owner (no orphan holding the directory).
    await first.stop('SIGKILL');
    await until('the embedded server to stop', () => !alive(serverPid), { timeoutMs: 30_000 });
  });

  it('starts again on the same directory after a kill -9, answers from it after Redis lost everything, and takes the records of a separate worker process', async () => {
    expect(ids).toHaveLength(6);
    await deleteByPrefix(t.redis, t.prefix); // this namespace's FLUSHALL
    // A split deployment: `npm run api` owns the store, a ship worker of its own writes to Redis only.
    const again = start('workers/api.ts');
    const { base, serverPid } = await started(again);
    expect(again.stdout()).toContain('"initialised":false');
    expect((await get(base, '/v1/ledger/entries')).items.map((e) => e.id)).toEqual(entries);
    for (const id of ids) expect(await get(base, `/v1/jobs/${id}`)).toMatchObject({ id, state: 'completed' });
    expect(await t.redis.get(recordsKeys.owner(t.prefix))).toMatch(new RegExp(`\\|${again.process.pid}\\|`));

    const worker = start('workers/ship.ts');
    const response = await fetch(`${base}/v1/ship`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify(shipBody({ tid: '6200', out_sid: 'YT880000099' })),
    });
    const { id } = (await response.json()) as { id: string };
    await until(
      'the worker completed it',
      async () => (await get(base, `/v1/jobs/${id}`)).state === 'completed',
      {
        timeoutMs: 30_000,
      },
    );
    await caughtUp(base);
    expect((await get(base, '/v1/jobs?state=completed')).items.map((j) => j.id).sort()).toEqual(
      [...ids, id].sort(),
    );
    expect(worker.stdout()).not.toContain('embedded PostgreSQL');
    expect(await worker.stop()).toBe(0);

    // SIGTERM: the server is stopped and the ownership given up, the process exits 0.
    expect(await again.stop()).toBe(0);
    expect(alive(serverPid)).toBe(false);
    expect(await t.redis.exists(recordsKeys.owner(t.prefix))).toBe(0);
    expect(readdirSync(dir)).toContain('PG_VERSION');
    const output = again.stdout() + again.stderr();
    for (const secret of Object.values(SECRETS)) expect(output).not.toContain(secret);
  });
});

describe('finding the PostgreSQL binaries', () => {
  it('takes PG_BIN when it holds initdb and postgres, and refuses one that does not', () => {
    const found = findBinaries();
    expect(findBinaries(found)).toBe(found);
    expect(() => findBinaries(root)).toThrow(EmbeddedStartError);
    expect(() => findBinaries(root)).toThrow(`PG_BIN ${root} holds no initdb and postgres`);
  });

  it('says the store is unavailable (the records then stay in Redis) where none is installed', () => {
    const nowhere = { pgConfig: join(root, 'no-pg-config'), root: join(root, 'no-postgresql') };
    expect(() => findBinaries(null, nowhere)).toThrow(EmbeddedUnavailable);
    expect(() => findBinaries(null, nowhere)).toThrow(/no PostgreSQL server binaries found/);
  });
});
