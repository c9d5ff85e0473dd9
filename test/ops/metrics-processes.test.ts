import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { SHARED_STATE_GAUGES } from '../../src/metrics/index.js';
import { Fulfillment } from '../../src/queues/service.js';
import type { SandboxControl } from '../../src/sandbox/index.js';
import { parseExposition, type Sample, sumOf } from '../../support/exposition.js';
import { freePort } from '../../support/ports.js';
import { type Child, spawnNode } from '../helpers/processes.js';
import { deleteByPrefix, type TestRedis, testRedis } from '../helpers/redis.js';
import { startSandboxProcess } from '../helpers/sandbox-process.js';
import { until } from '../helpers/wait.js';
import { healthcheckArgv } from './dockerfile.js';

// The Compose layout in miniature: an API process, a ship worker and a sync worker, each a real
// process against the sandbox in a process of its own. Scraped one by one as Prometheus would, the
// money counters must add up to what the sandbox saw, and no job may be counted twice by the
// gauges that read Redis.

const TOKENS = { vv1: `tok-metrics-vv-${randomUUID()}`, dm1: `tok-metrics-dm-${randomUUID()}` };
const API_KEY = `key-metrics-${randomUUID()}`;
const ACCOUNTS = JSON.stringify([
  { id: 'vv1', provider: 'vvtool', token: TOKENS.vv1 },
  { id: 'dm1', provider: 'damaijia', token: TOKENS.dm1 },
]);
const AUTH = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };

let t: TestRedis;
let sandbox: { url: string; control: SandboxControl; child: Child };
const children: Child[] = [];

beforeAll(async () => {
  t = await testRedis('ops-metrics');
  sandbox = await startSandboxProcess({ FULFILLMENT_ACCOUNTS: ACCOUNTS });
}, 30_000);

afterAll(async () => {
  await Promise.all(children.map((child) => child.stop('SIGKILL')));
  await sandbox?.child.stop('SIGKILL');
  await t?.cleanup();
});

function start(entry: string, extra: Record<string, string>): Child {
  const child = spawnNode(entry, {
    REDIS_URL: t.url,
    FULFILLMENT_PREFIX: t.prefix,
    FULFILLMENT_ACCOUNTS: ACCOUNTS,
    VVTOOL_BASE_URL: sandbox.url,
    DAMAIJIA_BASE_URL: sandbox.url,
    REDIS_ALLOW_EVICTION: 'true',
    RETRY_BASE_MS: '50',
    LOG_LEVEL: 'info',
    ...extra,
  });
  children.push(child);
  return child;
}

/** The loopback address from the first log line with this message (its `address` field). */
function addressFrom(child: Child, msg: string): Promise<string> {
  return until(
    `"${msg}" from the process`,
    () => {
      for (const line of child.output().split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { msg?: string; address?: string };
        if (entry.msg === msg && entry.address) return `http://127.0.0.1:${new URL(entry.address).port}`;
      }
      if (child.process.exitCode !== null) throw new Error(`exited: ${child.output()}`);
      return undefined;
    },
    { timeoutMs: 30_000 },
  );
}

/** Runs the Dockerfile's HEALTHCHECK command with this environment; its exit code. */
function healthcheck(env: Record<string, string>): number | null {
  const [command, ...args] = healthcheckArgv(readFileSync('Dockerfile', 'utf8'));
  const bin = command === 'node' ? process.execPath : command!;
  return spawnSync(bin, args, { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 10_000 }).status;
}

async function scrape(base: string): Promise<Sample[]> {
  const answer = await fetch(`${base}/metrics`);
  expect(answer.status).toBe(200);
  expect(answer.headers.get('content-type')).toMatch(/^text\/plain/);
  return parseExposition(await answer.text());
}

describe('METRICS_PORT', () => {
  it('defaults to 9464, `off` turns it off, anything else is a port or a one-line error', () => {
    const base = { FULFILLMENT_ACCOUNTS: ACCOUNTS };
    expect(loadConfig(base).metricsPort).toBe(9464);
    expect(loadConfig({ ...base, METRICS_PORT: 'off' }).metricsPort).toBeNull();
    expect(loadConfig({ ...base, METRICS_PORT: '0' }).metricsPort).toBe(0);
    expect(loadConfig({ ...base, METRICS_PORT: '9100' }).metricsPort).toBe(9100);
    expect(() => loadConfig({ ...base, METRICS_PORT: 'yes' })).toThrow(/METRICS_PORT/);
    expect(() => loadConfig({ ...base, METRICS_PORT: '70000' })).toThrow(/METRICS_PORT/);
  });
});

describe('an API process, a ship worker and a sync worker', () => {
  it('export counters that add up to the sandbox totals, and the shared gauges once', async () => {
    const api = start('workers/api.ts', { PORT: '0', API_KEYS: API_KEY });
    const ship = start('workers/ship.ts', { METRICS_PORT: '0' });
    const sync = start('workers/sync.ts', { METRICS_PORT: '0' });
    const [apiBase, shipBase, syncBase] = await Promise.all([
      addressFrom(api, 'HTTP API listening'),
      addressFrom(ship, 'metrics listening'),
      addressFrom(sync, 'metrics listening'),
    ]);
    for (const base of [shipBase, syncBase]) {
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      expect((await fetch(`${base}/v1/accounts`)).status).toBe(404);
    }

    // One vv-tool order answers 101 (upstream timeout, retried) first: calls then outnumber jobs.
    await sandbox.control.script('vvtool', '4011223344500000000', [{ code: 101 }]);
    // One damaijia delivery has its connection reset before an answer: a charge unknown, then a retry.
    await sandbox.control.script('damaijia', 'ORD-metrics-0', [{ fault: 'reset' }]);
    const jobs = [
      ...Array.from({ length: 12 }, (_, i) => ({
        type: 'ship',
        account: 'vv1',
        tid: `40112233445${String(i).padStart(8, '0')}`,
        shop_id: 'shop-1',
        out_sid: `YT${String(i).padStart(10, '0')}`,
        company_code: 'YTO',
      })),
      ...Array.from({ length: 8 }, (_, i) => ({
        type: 'ship',
        account: 'dm1',
        seller_nick: 'nick',
        order_no: `ORD-metrics-${i}`,
        wp_code: 'ZTO',
        waybill_no: `ZT${String(i).padStart(9, '0')}`,
      })),
      ...Array.from({ length: 6 }, (_, i) => ({
        type: 'sync',
        account: 'dm1',
        orderSns: `SO-metrics-${i}`,
        ownerId: 'owner-1',
      })),
    ];
    const enqueued = await fetch(`${apiBase}/v1/batch`, {
      method: 'POST',
      headers: AUTH,
      body: JSON.stringify({ jobs }),
    });
    expect(enqueued.status, await enqueued.clone().text()).toBe(202);
    const ids = ((await enqueued.json()) as { jobs: { id: string }[] }).jobs.map((job) => job.id);
    expect(ids).toHaveLength(jobs.length);
    await until(
      'every job to complete',
      async () => {
        const states = await Promise.all(
          ids.map(async (id) => {
            const view = await fetch(`${apiBase}/v1/jobs/${encodeURIComponent(id)}`, { headers: AUTH });
            return ((await view.json()) as { state: string }).state;
          }),
        );
        return states.every((state) => state === 'completed');
      },
      { timeoutMs: 60_000, everyMs: 200 },
    );

    const report = await sandbox.control.report();
    expect(report.calls).toBe(jobs.length + 2);
    const faulted = (await sandbox.control.calls()).filter((call) => call.fault !== null);
    expect(faulted.map((call) => call.account)).toEqual(['dm1']);
    expect(report.charged).toBeGreaterThan(0);
    const [fromApi, fromShip, fromSync] = await Promise.all([
      scrape(apiBase),
      scrape(shipBase),
      scrape(syncBase),
    ]);
    const all = [...fromApi, ...fromShip, ...fromSync];

    // Prometheus's sum over every target: one per upstream call, the charges the sandbox made.
    expect(sumOf(all, 'fulfillment_job_outcomes_total')).toBe(report.calls);
    expect(sumOf(all, 'fulfillment_job_outcomes_total', { outcome: 'retry' })).toBe(2);
    expect(sumOf(all, 'fulfillment_unknown_charges_total')).toBe(faulted.length);
    expect(sumOf(all, 'fulfillment_unknown_charges_total', { account: 'dm1' })).toBe(1);
    expect(sumOf(all, 'fulfillment_upstream_calls_total')).toBe(report.calls);
    expect(sumOf(all, 'fulfillment_coupons_spent_total')).toBe(report.charged);
    for (const [account, figures] of Object.entries(report.byAccount)) {
      expect(sumOf(all, 'fulfillment_coupons_spent_total', { account }), account).toBe(figures.charged);
      expect(sumOf(all, 'fulfillment_upstream_calls_total', { account }), account).toBe(figures.calls);
    }
    // Each worker counted its own queue's calls, and the API none.
    expect(sumOf(fromShip, 'fulfillment_job_outcomes_total', { queue: 'sync' })).toBe(0);
    expect(sumOf(fromSync, 'fulfillment_job_outcomes_total', { queue: 'sync' })).toBe(6);
    expect(sumOf(fromApi, 'fulfillment_job_outcomes_total')).toBe(0);

    // The gauges that read Redis come from the API alone, so a sum counts every job once.
    for (const name of SHARED_STATE_GAUGES) {
      expect(
        fromApi.some((sample) => sample.name === name),
        name,
      ).toBe(true);
      expect(
        fromShip.some((sample) => sample.name === name),
        name,
      ).toBe(false);
      expect(
        fromSync.some((sample) => sample.name === name),
        name,
      ).toBe(false);
    }
    expect(sumOf(all, 'fulfillment_queue_jobs', { state: 'completed' })).toBe(jobs.length);
    expect(sumOf(fromApi, 'fulfillment_account_rate_limit', { account: 'vv1' })).toBe(10);
    expect(sumOf(fromApi, 'fulfillment_redis_memory_used_bytes')).toBeGreaterThan(0);

    // Every process says what it runs.
    for (const samples of [fromApi, fromShip, fromSync]) {
      const info = samples.filter((sample) => sample.name === 'fulfillment_build_info');
      expect(info).toEqual([
        {
          name: 'fulfillment_build_info',
          labels: { version: expect.stringMatching(/^\d+\.\d+\.\d+/), node: process.versions.node },
          value: 1,
        },
      ]);
    }

    for (const child of [ship, sync]) expect(await child.stop('SIGTERM')).toBe(0);
    for (const child of [api, ship, sync]) {
      for (const token of Object.values(TOKENS)) expect(child.output()).not.toContain(token);
      expect(child.output()).not.toContain(API_KEY);
    }
  }, 120_000);

  it('a worker keeps serving /metrics while it drains on SIGTERM', async () => {
    const prefix = `${t.prefix}-drain`;
    const worker = start('workers/ship.ts', {
      METRICS_PORT: '0',
      FULFILLMENT_PREFIX: prefix,
      SHUTDOWN_GRACE_MS: '20000',
    });
    const base = await addressFrom(worker, 'metrics listening');
    const service = new Fulfillment(
      loadConfig({ REDIS_URL: t.url, FULFILLMENT_PREFIX: prefix, FULFILLMENT_ACCOUNTS: ACCOUNTS }),
      new Redis(t.url, { maxRetriesPerRequest: null }),
    );
    // A slow upstream keeps the job in flight, and the worker draining, for a few seconds.
    await sandbox.control.setLatency(3_000);
    try {
      await service.producer.ship({
        account: 'vv1',
        tid: '4011223344599999999',
        shop_id: 'shop-1',
        out_sid: 'YT9999999999',
        company_code: 'YTO',
      });
      await until(
        'the job to run',
        async () => (await service.queues.ship.getJobCounts('active')).active === 1,
        {
          timeoutMs: 30_000,
        },
      );
      const exited = worker.stop('SIGTERM');
      await until('the worker to start shutting down', () =>
        worker.output().includes('"msg":"shutting down"'),
      );
      const during = await scrape(base);
      expect(during.some((sample) => sample.name === 'fulfillment_build_info')).toBe(true);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect(await exited).toBe(0);
      expect((await service.queues.ship.getJobCounts('completed')).completed).toBe(1);
    } finally {
      await sandbox.control.setLatency(0);
      await service.close();
      await service.redis.quit();
      await deleteByPrefix(t.redis, prefix);
    }
  }, 90_000);

  it('a worker with METRICS_PORT=off serves nothing and still works; a taken port does not stop it', async () => {
    const off = start('workers/sync.ts', { METRICS_PORT: 'off' });
    await until('the off line', () => off.output().includes('METRICS_PORT=off'), { timeoutMs: 30_000 });
    expect(off.output()).not.toContain('metrics listening');

    const first = start('workers/sync.ts', { METRICS_PORT: '0' });
    const taken = new URL(await addressFrom(first, 'metrics listening')).port;
    // The image's HEALTHCHECK, run as Docker would in the worker's container, finds it on METRICS_PORT.
    const closed = String(await freePort());
    expect(healthcheck({ PORT: closed, METRICS_PORT: taken })).toBe(0);
    expect(healthcheck({ PORT: closed, METRICS_PORT: closed })).toBe(1);
    const second = start('workers/sync.ts', { METRICS_PORT: taken });
    await until('the cannot-listen line', () => second.output().includes('metrics server cannot listen'), {
      timeoutMs: 30_000,
    });
    await until('the second worker to start', () => second.output().includes('"msg":"started"'));
    // A warning, not an error: several workers on one host with the default port are a normal setup.
    expect(second.output()).toMatch(/"level":40,[^\n]*metrics server cannot listen/);
    expect(second.output()).not.toMatch(/"level":50/);
    for (const child of [off, first, second]) expect(await child.stop('SIGTERM')).toBe(0);
  }, 90_000);
});
