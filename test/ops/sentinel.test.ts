import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { Fulfillment } from '../../src/queues/service.js';
import { connectRedis } from '../../src/runtime/redis.js';
import { freePort } from '../../support/ports.js';
import { until } from '../helpers/wait.js';
import { type PrivateRedis, startPrivateRedis } from './private-redis.js';

// REDIS_SENTINELS against a real Sentinel: a redis-server of the test's own as the primary and a
// second one in sentinel mode monitoring it. The product asks the sentinel where the primary is.
const MASTER = 'fmaster';
let dir: string;
let primary: PrivateRedis;
let sentinel: ChildProcess;
/** host:port of the sentinel, as REDIS_SENTINELS takes it. */
let sentinelAddress: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ff-sentinel-'));
  primary = await startPrivateRedis();
  const sentinelPort = await freePort();
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${MASTER} 127.0.0.1 ${primary.port} 1`,
      '',
    ].join('\n'),
  );
  sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  const probe = new Redis(sentinelPort, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
  probe.on('error', () => {});
  try {
    await until('the sentinel to name the primary', async () => {
      try {
        if (probe.status !== 'ready') await probe.connect();
        const address = (await probe.call('SENTINEL', 'get-master-addr-by-name', MASTER)) as string[] | null;
        return address?.[1] === String(primary.port) || undefined;
      } catch {
        probe.disconnect();
        return undefined;
      }
    });
  } finally {
    probe.disconnect();
  }
  sentinelAddress = `127.0.0.1:${sentinelPort}`;
});
afterAll(async () => {
  if (sentinel && sentinel.exitCode === null && sentinel.signalCode === null) {
    const exited = once(sentinel, 'exit');
    sentinel.kill('SIGTERM');
    await exited;
  }
  await primary?.stop();
  rmSync(dir, { recursive: true, force: true });
});
const base = {
  FULFILLMENT_PREFIX: 't-sentinel',
  FULFILLMENT_ACCOUNTS: JSON.stringify([
    { id: 'shop1', provider: 'vvtool', token: 'tok-sentinel-0123456789' },
  ]),
};

describe('Redis Sentinel', () => {
  it('finds the primary through the sentinel and enqueues there', async () => {
    const config = loadConfig(
      {
        ...base,
        // Only credentials, db and TLS are taken from the URL; its host (nothing listens) is not used.
        REDIS_URL: 'redis://127.0.0.1:1/0',
        REDIS_SENTINELS: sentinelAddress,
        REDIS_SENTINEL_NAME: MASTER,
      },
      { accounts: true },
    );
    const redis = connectRedis(config, 'sentinel-test');
    const service = new Fulfillment(config, redis);
    try {
      const { id } = await service.producer.ship({
        account: 'shop1',
        shop_id: '1',
        tid: '5100',
        out_sid: 'YT5100000001',
        company_code: 'YTO',
      });
      expect(await primary.redis.exists(`t-sentinel:ship:${id}`)).toBe(1);
      expect((await service.getJob(id))?.state).toBe('waiting');
    } finally {
      await service.close();
      await redis.quit();
    }
  });

  it('refuses a half or malformed setting, naming it', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ REDIS_SENTINELS: '127.0.0.1:26379' }, 'REDIS_SENTINEL_NAME'],
      [{ REDIS_SENTINEL_NAME: MASTER }, 'REDIS_SENTINELS'],
      [{ REDIS_SENTINELS: '127.0.0.1', REDIS_SENTINEL_NAME: MASTER }, 'REDIS_SENTINELS'],
      [{ REDIS_SENTINELS: 'a:1,b:70000', REDIS_SENTINEL_NAME: MASTER }, 'REDIS_SENTINELS'],
    ];
    for (const [env, setting] of cases) {
      expect(() => loadConfig({ ...base, ...env })).toThrow(ConfigError);
      expect(() => loadConfig({ ...base, ...env })).toThrow(new RegExp(`^${setting}`));
    }
    const ok = loadConfig({ ...base, REDIS_SENTINELS: 's1:26379, [::1]:26380', REDIS_SENTINEL_NAME: MASTER });
    expect(ok.redisSentinel).toEqual({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      name: MASTER,
    });
  });
});
