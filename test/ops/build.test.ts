import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteByPrefix, type TestRedis, testRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';
import { type NodeChild, spawnNodeProcess } from './node-process.js';

// `npm run build` and the services running from its output with plain `node` (no tsx), as the
// Docker image runs them. The build goes to a directory of this test's own inside dist/ (gitignored),
// not to dist/ itself: bin/fulfill.js prefers dist/ when it exists, and the CLI tests running beside
// this one must not read files while they are being rewritten.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = join(ROOT, 'dist', `.build-test-${randomUUID().slice(0, 8)}`);
const TOKENS = { vv1: `tok-build-vv-${randomUUID()}`, dm1: `tok-build-dm-${randomUUID()}` };
const ACCOUNTS = JSON.stringify([
  { id: 'vv1', provider: 'vvtool', token: TOKENS.vv1 },
  { id: 'dm1', provider: 'damaijia', token: TOKENS.dm1 },
]);

let t: TestRedis;
const children: NodeChild[] = [];

beforeAll(async () => {
  t = await testRedis('ops-build');
  // `npm run build -- --outDir X` runs the package's own build script, with only the output moved.
  await promisify(execFile)('npm', ['run', 'build', '--', '--outDir', OUT], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
}, 300_000);

afterAll(async () => {
  await Promise.all(children.map((child) => child.stop('SIGKILL')));
  await t?.cleanup();
  await rm(OUT, { recursive: true, force: true });
});

function start(script: string, env: Record<string, string>): NodeChild {
  const child = spawnNodeProcess([join(OUT, script)], env);
  children.push(child);
  return child;
}

function serviceEnv(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: t.url,
    FULFILLMENT_PREFIX: prefix,
    FULFILLMENT_ACCOUNTS: ACCOUNTS,
    LOG_LEVEL: 'info',
    ...extra,
  };
}

function noSecrets(child: NodeChild): void {
  for (const token of Object.values(TOKENS)) expect(child.stdout() + child.stderr()).not.toContain(token);
}

/** The JSON log lines a service process wrote to stdout. */
function logLines(child: NodeChild): Record<string, unknown>[] {
  return child
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('npm run build', () => {
  it('emits every worker entry point and the CLI where the scripts, compose file and bin expect them', () => {
    const entries = readdirSync(join(ROOT, 'workers')).filter((name) => name.endsWith('.ts'));
    expect(entries).toEqual(expect.arrayContaining(['ship.ts', 'sync.ts', 'sandbox.ts']));
    for (const entry of entries) {
      expect(existsSync(join(OUT, 'workers', entry.replace(/\.ts$/, '.js'))), entry).toBe(true);
    }
    // bin/fulfill.js imports ../dist/src/cli/main.js when a build is there.
    expect(existsSync(join(OUT, 'src', 'cli', 'main.js'))).toBe(true);
    // Only the product: nothing of the tests, benchmarks, demo or their support code.
    expect(readdirSync(OUT).sort()).toEqual(['src', 'workers']);
    expect(existsSync(join(OUT, 'src', 'demo'))).toBe(false);
    expect(relative(ROOT, OUT).startsWith('dist')).toBe(true);
  });
});

describe('services from the build, with plain node', () => {
  it('worker ship: registers as a BullMQ worker of the ship queue, exits 0 on SIGTERM', async () => {
    const prefix = `${t.prefix}-ship`;
    const child = start('workers/ship.js', serviceEnv(prefix));
    const queue = new Queue('ship', { connection: t.redis, prefix });
    try {
      await until('the ship worker to register', async () => (await queue.getWorkersCount()) === 1, {
        timeoutMs: 30_000,
      });
      expect(await child.stop('SIGTERM')).toBe(0);
      expect(await queue.getWorkersCount()).toBe(0);
    } finally {
      await queue.close();
      await deleteByPrefix(t.redis, prefix);
    }
    expect(logLines(child).map((line) => line.msg)).toEqual(
      expect.arrayContaining(['started', 'shutting down']),
    );
    expect(child.stderr()).toBe('');
    noSecrets(child);
  });

  it('worker ship: serves /metrics on METRICS_PORT with the package version in build_info', async () => {
    const prefix = `${t.prefix}-metrics`;
    const child = start('workers/ship.js', serviceEnv(prefix, { METRICS_PORT: '0' }));
    try {
      const listening = await until(
        'the metrics server to listen',
        () => logLines(child).find((line) => line.msg === 'metrics listening'),
        { timeoutMs: 30_000 },
      );
      const address = String(listening.address).replace('0.0.0.0', '127.0.0.1');
      const text = await (await fetch(`${address}/metrics`)).text();
      const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
      // Found from dist/src/metrics/, two levels deeper than under tsx.
      expect(text).toContain(
        `fulfillment_build_info{version="${version}",node="${process.versions.node}"} 1`,
      );
      expect((await fetch(`${address}/healthz`)).status).toBe(200);
      expect(await child.stop('SIGTERM')).toBe(0);
    } finally {
      await deleteByPrefix(t.redis, prefix);
    }
    noSecrets(child);
  });

  it('worker sync: registers on the sync queue, exits 0 on SIGTERM', async () => {
    const prefix = `${t.prefix}-sync`;
    const child = start('workers/sync.js', serviceEnv(prefix));
    const queue = new Queue('sync', { connection: t.redis, prefix });
    try {
      await until('the sync worker to register', async () => (await queue.getWorkersCount()) === 1, {
        timeoutMs: 30_000,
      });
      expect(await child.stop('SIGTERM')).toBe(0);
    } finally {
      await queue.close();
      await deleteByPrefix(t.redis, prefix);
    }
    noSecrets(child);
  });

  it('a missing setting stops start-up with one line naming it', async () => {
    const child = start('workers/ship.js', { REDIS_URL: t.url, FULFILLMENT_PREFIX: `${t.prefix}-none` });
    expect(await child.exited()).toBe(1);
    expect(child.stderr().trim().split('\n')).toEqual([
      expect.stringMatching(/^fulfillment: FULFILLMENT_ACCOUNTS/),
    ]);
  });

  it('sandbox: prints its base URLs, answers, exits 0 on SIGTERM', async () => {
    const child = start('workers/sandbox.js', { SANDBOX_PORT: '0', FULFILLMENT_ACCOUNTS: ACCOUNTS });
    const base = await until('the base URL line', () => /^VVTOOL_BASE_URL=(\S+)$/m.exec(child.stdout())?.[1]);
    const report = await fetch(`${base}/_sandbox/report`);
    expect(report.status).toBe(200);
    expect(await child.stop('SIGTERM')).toBe(0);
    noSecrets(child);
  });

  it('api: /healthz and /readyz answer 200, exits 0 on SIGTERM', async () => {
    const prefix = `${t.prefix}-api`;
    const child = start('workers/api.js', serviceEnv(prefix, { PORT: '0', API_KEYS: `key-${randomUUID()}` }));
    try {
      const listening = await until(
        'the API to listen',
        () => logLines(child).find((line) => line.msg === 'HTTP API listening'),
        { timeoutMs: 30_000 },
      );
      const address = String(listening.address).replace('0.0.0.0', '127.0.0.1');
      expect((await fetch(`${address}/healthz`)).status).toBe(200);
      expect((await fetch(`${address}/readyz`)).status).toBe(200);
      expect(await child.stop('SIGTERM')).toBe(0);
    } finally {
      await deleteByPrefix(t.redis, prefix);
    }
    noSecrets(child);
  });
});

describe('the all-in-one process from the build', () => {
  it('all: API ready and workers on both queues, exits 0 on SIGTERM', async () => {
    const prefix = `${t.prefix}-all`;
    const child = start('workers/all.js', serviceEnv(prefix, { PORT: '0', API_KEYS: `key-${randomUUID()}` }));
    const ship = new Queue('ship', { connection: t.redis, prefix });
    const sync = new Queue('sync', { connection: t.redis, prefix });
    try {
      const listening = await until(
        'the API to listen',
        () => logLines(child).find((line) => line.msg === 'HTTP API listening'),
        { timeoutMs: 30_000 },
      );
      const address = String(listening.address).replace('0.0.0.0', '127.0.0.1');
      expect((await fetch(`${address}/readyz`)).status).toBe(200);
      await until('workers on both queues', async () => {
        return (await ship.getWorkersCount()) === 1 && (await sync.getWorkersCount()) === 1;
      });
      expect(await child.stop('SIGTERM')).toBe(0);
    } finally {
      await Promise.all([ship.close(), sync.close()]);
      await deleteByPrefix(t.redis, prefix);
    }
    noSecrets(child);
  });
});
