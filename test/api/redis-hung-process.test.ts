import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { redisUrl, type TestRedis, testRedis } from '../helpers/redis.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { until } from '../helpers/wait.js';
import { type NodeChild, spawnNodeProcess } from '../ops/node-process.js';
import { AUTH, SECRETS, testEnv } from './harness.js';

/**
 * `npm start` and `npm run api` against a Redis that stays connected but stops answering: the HTTP
 * API answers 503 with Retry-After after its command timeout, as wired in the real processes, and
 * does not hold the request until Redis comes back.
 */
let t: TestRedis;
let sandbox: Sandbox;
let proxy: TcpProxy | undefined;
let child: NodeChild | undefined;

beforeAll(async () => {
  t = await testRedis('api-redis-hung');
  sandbox = await startSandbox({
    accounts: [
      { label: 'vv1', provider: 'vvtool', token: SECRETS.vvToken },
      { label: 'dm1', provider: 'damaijia', token: SECRETS.dmToken },
    ],
  });
});
afterEach(async () => {
  await child?.stop('SIGKILL');
  await proxy?.close();
});
afterAll(async () => {
  await sandbox?.close();
  await t?.cleanup();
});

async function address(process: NodeChild): Promise<string> {
  return until(
    'the HTTP API to listen',
    () => {
      for (const line of process.stdout().split('\n')) {
        if (!line.includes('HTTP API listening')) continue;
        const url = new URL((JSON.parse(line) as { address: string }).address);
        return `http://127.0.0.1:${url.port}`;
      }
      if (process.process.exitCode !== null) throw new Error(`exited: ${process.stderr()}`);
      return undefined;
    },
    { timeoutMs: 30_000 },
  );
}

describe.each(['workers/all.ts', 'workers/api.ts'])('%s with a hung Redis', (entry) => {
  it('answers /v1 with 503 and Retry-After instead of waiting for Redis', async () => {
    proxy = await startTcpProxy(Number(new URL(redisUrl()).port || 6379));
    child = spawnNodeProcess(['--import', 'tsx', entry], {
      ...testEnv(t),
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      PORT: '0',
      LOG_LEVEL: 'info',
      VVTOOL_BASE_URL: sandbox.url,
      DAMAIJIA_BASE_URL: sandbox.url,
      REDIS_ALLOW_EVICTION: 'true',
    });
    const base = await address(child);
    const job = `${base}/v1/jobs/vvtool.vv1.1.all.YT1234567`;
    expect((await fetch(job, { headers: AUTH })).status).toBe(404);
    proxy.freeze();
    const response = await fetch(job, { headers: AUTH });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(await response.json()).toMatchObject({
      error: 'service unavailable',
      issues: [{ path: 'redis', message: 'did not answer in time; retry shortly' }],
    });
    const output = child.stdout() + child.stderr();
    for (const secret of Object.values(SECRETS)) expect(output).not.toContain(secret);
  });
});
