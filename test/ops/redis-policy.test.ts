import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log.js';
import { checkRedisPolicy } from '../../src/runtime/redis.js';
import { until } from '../helpers/wait.js';
import { type NodeChild, spawnNodeProcess } from './node-process.js';
import { type PrivateRedis, startPrivateRedis } from './private-redis.js';

// Issue 6, item 8: a Redis that may evict keys silently loses jobs, so a worker refuses to start on
// one unless REDIS_ALLOW_EVICTION says the operator knows. Run against a server of the test's own,
// since the policy is a server-wide setting.

const SHIP_WORKER = fileURLToPath(new URL('../../workers/ship.ts', import.meta.url));
const TOKEN = `tok-policy-${randomUUID()}`;
const ACCOUNTS = JSON.stringify([{ id: 'vv1', provider: 'vvtool', token: TOKEN }]);

let server: PrivateRedis;
const children: NodeChild[] = [];

beforeAll(async () => {
  server = await startPrivateRedis(['--maxmemory-policy', 'allkeys-lru']);
});
afterAll(async () => {
  await Promise.all(children.map((child) => child.stop('SIGKILL')));
  await server?.stop();
});

function configFor(env: Record<string, string> = {}) {
  return loadConfig({ REDIS_URL: server.url, FULFILLMENT_PREFIX: 'policy', ...env });
}

/** A logger whose JSON lines the test reads back. */
function capturedLogger() {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line));
  });
  return { log: createLogger({ level: 'info', destination: stream }), lines };
}

/** The worker process (through tsx, as `npm run worker:ship` runs it) against the private server. */
function startWorker(prefix: string, extra: Record<string, string> = {}): NodeChild {
  const env = {
    REDIS_URL: server.url,
    FULFILLMENT_PREFIX: prefix,
    FULFILLMENT_ACCOUNTS: ACCOUNTS,
    LOG_LEVEL: 'info',
    ...extra,
  };
  const child = spawnNodeProcess(['--import', 'tsx', SHIP_WORKER], env);
  children.push(child);
  return child;
}

describe('checkRedisPolicy', () => {
  it('rejects allkeys-lru with a message naming the policy and both ways out', async () => {
    const { log } = capturedLogger();
    const check = checkRedisPolicy(server.redis, configFor(), log);
    await expect(check).rejects.toThrow(/maxmemory-policy is "allkeys-lru", not "noeviction"/);
    await expect(check).rejects.toThrow(/CONFIG SET maxmemory-policy noeviction/);
    await expect(check).rejects.toThrow(/REDIS_ALLOW_EVICTION=true/);
  });

  it('with REDIS_ALLOW_EVICTION=true, warns and answers the policy instead', async () => {
    const { log, lines } = capturedLogger();
    const policy = await checkRedisPolicy(server.redis, configFor({ REDIS_ALLOW_EVICTION: 'true' }), log);
    expect(policy).toBe('allkeys-lru');
    const warning = await until('the warning line', () => lines.find((line) => line.level === 40));
    expect(String(warning.msg)).toMatch(/maxmemory-policy is "allkeys-lru"/);
  });

  it('accepts noeviction silently', async () => {
    const probe = await startPrivateRedis(['--maxmemory-policy', 'noeviction']);
    try {
      const { log, lines } = capturedLogger();
      const config = loadConfig({ REDIS_URL: probe.url, FULFILLMENT_PREFIX: 'policy' });
      expect(await checkRedisPolicy(probe.redis, config, log)).toBe('noeviction');
      expect(lines).toEqual([]);
    } finally {
      await probe.stop();
    }
  });
});

describe('a worker process on a Redis that may evict', () => {
  it('refuses to start: exit 1 and one clear line on stderr mentioning maxmemory-policy', async () => {
    const child = startWorker('t-policy-refused');
    expect(await child.exited()).toBe(1);
    const lines = child.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^fulfillment: Redis maxmemory-policy is "allkeys-lru", not "noeviction"/);
    expect(lines[0]).toMatch(/REDIS_ALLOW_EVICTION=true/);
    expect(child.stdout()).not.toMatch(/"msg":"started"/);
    expect(child.stdout() + child.stderr()).not.toContain(TOKEN);
  });

  it('starts with REDIS_ALLOW_EVICTION=true (warning logged) and stops cleanly on SIGTERM', async () => {
    const prefix = `t-policy-${randomUUID().slice(0, 8)}`;
    const child = startWorker(prefix, { REDIS_ALLOW_EVICTION: 'true' });
    const queue = new Queue('ship', { connection: server.redis, prefix });
    try {
      await until('the worker to register', async () => (await queue.getWorkersCount()) > 0);
    } finally {
      await queue.close();
    }
    const warning = child
      .stdout()
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.level === 40);
    expect(String(warning?.msg)).toMatch(/maxmemory-policy is "allkeys-lru"/);
    // BullMQ adds its own notice per connection; nothing else goes to stderr.
    const others = child
      .stderr()
      .split('\n')
      .filter((line) => line.trim() && !line.startsWith('IMPORTANT! Eviction policy is allkeys-lru'));
    expect(others).toEqual([]);
    expect(await child.stop()).toBe(0);
    expect(child.stdout() + child.stderr()).not.toContain(TOKEN);
  });
});
