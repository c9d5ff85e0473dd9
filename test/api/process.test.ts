import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { type TestRedis, testRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';
import { type NodeChild, spawnNodeProcess } from '../ops/node-process.js';
import { AUTH, SECRETS, shipBody, testEnv } from './harness.js';

/** `npm start` and `npm run api` as the processes they are: listen, serve, stop on SIGTERM with 0. */
let t: TestRedis;
let sandbox: Sandbox;

beforeAll(async () => {
  t = await testRedis('api-process');
  sandbox = await startSandbox({
    accounts: [
      { label: 'vv1', provider: 'vvtool', token: SECRETS.vvToken },
      { label: 'dm1', provider: 'damaijia', token: SECRETS.dmToken },
    ],
  });
});

afterAll(async () => {
  await sandbox?.close();
  await t?.cleanup();
});

function start(entry: string): NodeChild {
  return spawnNodeProcess(['--import', 'tsx', entry], {
    ...testEnv(t),
    PORT: '0',
    LOG_LEVEL: 'info',
    VVTOOL_BASE_URL: sandbox.url,
    DAMAIJIA_BASE_URL: sandbox.url,
    REDIS_ALLOW_EVICTION: 'true',
    SHUTDOWN_GRACE_MS: '5000',
  });
}

/** The address from the process's "HTTP API listening" log line. */
async function address(child: NodeChild): Promise<string> {
  return until(
    'the HTTP API to listen',
    () => {
      for (const line of child.stdout().split('\n')) {
        if (!line.includes('HTTP API listening')) continue;
        const url = new URL((JSON.parse(line) as { address: string }).address);
        return `http://127.0.0.1:${url.port}`;
      }
      if (child.process.exitCode !== null) throw new Error(`exited: ${child.stderr()}`);
      return undefined;
    },
    { timeoutMs: 30_000 },
  );
}

function expectNoSecrets(child: NodeChild): void {
  const output = child.stdout() + child.stderr();
  for (const secret of Object.values(SECRETS)) expect(output).not.toContain(secret);
}

describe('workers/all.ts (npm start)', () => {
  it('serves the API and runs the workers, which report into /metrics', async () => {
    const child = start('workers/all.ts');
    try {
      const base = await address(child);
      const shipped = await fetch(`${base}/v1/ship`, {
        method: 'POST',
        headers: { ...AUTH, 'content-type': 'application/json' },
        body: JSON.stringify(shipBody({ tid: '31' })),
      });
      expect(shipped.status).toBe(202);
      const { id } = (await shipped.json()) as { id: string };
      await until('the job to complete', async () => {
        const view = (await (await fetch(`${base}/v1/jobs/${id}`, { headers: AUTH })).json()) as {
          state: string;
        };
        return view.state === 'completed';
      });
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/fulfillment_job_outcomes_total\{[^}]*outcome="done"[^}]*\} 1/);
      expect(metrics).toMatch(/fulfillment_coupons_spent_total\{account="vv1",provider="vvtool"\} 1/);
      expect((await fetch(`${base}/admin/queues`)).status).toBe(401);
    } finally {
      expect(await child.stop('SIGTERM')).toBe(0);
    }
    expectNoSecrets(child);
  });
});

describe('workers/api.ts (npm run api)', () => {
  it('serves the API without workers, and stops cleanly', async () => {
    const child = start('workers/api.ts');
    try {
      const base = await address(child);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const shipped = await fetch(`${base}/v1/ship`, {
        method: 'POST',
        headers: { ...AUTH, 'content-type': 'application/json' },
        body: JSON.stringify(shipBody({ tid: '32' })),
      });
      const { id } = (await shipped.json()) as { id: string };
      const view = (await (await fetch(`${base}/v1/jobs/${id}`, { headers: AUTH })).json()) as {
        state: string;
      };
      expect(view.state).toBe('waiting');
    } finally {
      expect(await child.stop('SIGTERM')).toBe(0);
    }
    expect(child.stdout()).toContain('shutting down');
    expectNoSecrets(child);
  });

  it('stops at start-up with one line when API_KEYS is missing', async () => {
    const child = spawnNodeProcess(['--import', 'tsx', 'workers/api.ts'], { ...testEnv(t), API_KEYS: '' });
    expect(await child.exited()).toBe(1);
    expect(child.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^fulfillment: API_KEYS/)]);
  });
});
