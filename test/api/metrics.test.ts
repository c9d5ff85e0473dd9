import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/index.js';
import { createQueueWorker } from '../../src/queues/worker.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { createUpstreams } from '../../src/upstreams/index.js';
import { until } from '../helpers/wait.js';
import { AUTH, deliveryBody, type Harness, SECRETS, shipBody, startHarness, syncBody } from './harness.js';

/** The value of one sample line, e.g. `fulfillment_dead_letter_jobs 1`, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '').split(',').filter(Boolean);
    if (wanted.every((label) => have.includes(label))) return Number(match[3]);
  }
  return undefined;
}

describe('Metrics as the pipeline observer', () => {
  it('counts outcomes, coupons, unknown charges, parking; times calls and waits', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.outcome({
      queue: 'ship',
      name: 'vvtool.send',
      provider: 'vvtool',
      account: 'vv1',
      code: 0,
      outcome: 'done',
      charge: 2.5,
    });
    metrics.outcome({
      queue: 'ship',
      name: 'vvtool.send',
      provider: 'vvtool',
      account: 'vv1',
      code: 0,
      outcome: 'done',
      charge: 1,
    });
    metrics.outcome({
      queue: 'ship',
      name: 'vvtool.send',
      provider: 'vvtool',
      account: 'vv1',
      code: null,
      outcome: 'retry',
      charge: 0,
    });
    metrics.upstreamCall({ provider: 'damaijia', operation: 'damaijia.sync', seconds: 0.2 });
    metrics.limiterWait({ account: 'dm1', seconds: 0.003 });
    metrics.parked({ account: 'dm1', why: 'held' });
    metrics.slotMissed({ account: 'vv1' });
    metrics.taken({ queue: 'ship' });
    metrics.taken({ queue: 'ship' });
    metrics.unknownCharge({ account: 'vv1' });
    const text = await metrics.scrape();
    const done = { queue: 'ship', name: 'vvtool.send', provider: 'vvtool', code: '0', outcome: 'done' };
    expect(sample(text, 'fulfillment_job_outcomes_total', done)).toBe(2);
    expect(sample(text, 'fulfillment_job_outcomes_total', { code: 'none', outcome: 'retry' })).toBe(1);
    expect(sample(text, 'fulfillment_coupons_spent_total', { account: 'vv1', provider: 'vvtool' })).toBe(3.5);
    expect(sample(text, 'fulfillment_upstream_call_duration_seconds_count', { provider: 'damaijia' })).toBe(
      1,
    );
    expect(
      sample(text, 'fulfillment_upstream_call_duration_seconds_bucket', { provider: 'damaijia', le: '0.1' }),
    ).toBe(0);
    expect(
      sample(text, 'fulfillment_upstream_call_duration_seconds_bucket', { provider: 'damaijia', le: '0.25' }),
    ).toBe(1);
    expect(sample(text, 'fulfillment_limiter_wait_seconds_count', { account: 'dm1' })).toBe(1);
    expect(sample(text, 'fulfillment_jobs_parked_total', { account: 'dm1', why: 'held' })).toBe(1);
    expect(sample(text, 'fulfillment_unknown_charges_total', { account: 'vv1' })).toBe(1);
    expect(sample(text, 'fulfillment_limiter_slots_missed_total', { account: 'vv1' })).toBe(1);
    expect(sample(text, 'fulfillment_job_takes_total', { queue: 'ship' })).toBe(2);
    // Not watching a service: the Redis gauges are unknown (NaN, not a false 0) and redis_up says why.
    expect(sample(text, 'fulfillment_redis_up')).toBe(0);
    expect(sample(text, 'fulfillment_dead_letter_jobs')).toBeNaN();
    expect(sample(text, 'fulfillment_accounts_held')).toBeNaN();
    expect(sample(text, 'fulfillment_queue_jobs', { queue: 'ship' })).toBeUndefined();
  });

  it('adds process metrics unless told not to', async () => {
    expect(await new Metrics().scrape()).toMatch(/^process_cpu_user_seconds_total /m);
    expect(await new Metrics({ defaultMetrics: false }).scrape()).not.toMatch(/process_cpu/);
  });
});

describe('GET /metrics on a live pipeline', () => {
  let h: Harness;
  let sandbox: Sandbox;
  let connection: Redis;
  let workers: Worker[] = [];
  let text = '';

  beforeAll(async () => {
    sandbox = await startSandbox({
      accounts: [
        { label: 'vv1', provider: 'vvtool', token: SECRETS.vvToken },
        { label: 'dm1', provider: 'damaijia', token: SECRETS.dmToken },
      ],
      stallMs: 2_000,
    });
    h = await startHarness('api-metrics', {
      VVTOOL_BASE_URL: sandbox.url,
      DAMAIJIA_BASE_URL: sandbox.url,
      RETRY_BASE_MS: '10',
      RETRY_MAX_MS: '50',
      UPSTREAM_TIMEOUT_MS: '500',
    });
    connection = new Redis(h.t.url, { maxRetriesPerRequest: null });
    const upstreams = createUpstreams({ ...h.config, timeoutMs: h.config.upstreamTimeoutMs });
    const log = createLogger({ level: 'silent' });
    workers = (['ship', 'sync'] as const).map((queue) =>
      createQueueWorker(h.service, queue, { connection, upstreams, log, observer: h.metrics }),
    );

    sandbox.script('vvtool', '5001', [{ code: 614, msg: '没有权限进行发货' }]);
    sandbox.script('vvtool', '5002', [{ code: 614, msg: '没有权限进行发货' }]);
    sandbox.script('damaijia', 'ORD-R', [{ fault: 'reset', when: 'after' }]);
    const ids: string[] = [];
    const bodies = [shipBody({ tid: '5000' }), shipBody({ tid: '5001' }), shipBody({ tid: '5002' })];
    for (const body of [...bodies, deliveryBody({ order_no: 'ORD-R' })]) {
      const response = await h.inject({ method: 'POST', url: '/v1/ship', headers: AUTH, payload: body });
      ids.push(response.json().id);
    }
    ids.push(
      (await h.inject({ method: 'POST', url: '/v1/sync', headers: AUTH, payload: syncBody() })).json().id,
    );
    for (const id of ids) {
      await until(`job ${id} to finish`, async () => {
        const view = await h.service.getJob(id);
        return view && (view.state === 'completed' || view.state === 'dead');
      });
    }
    await h.service.limiter.hold('dm1', { reason: 'balance spent', code: 209, message: 'no balance' });
    await h.inject({
      method: 'POST',
      url: '/v1/ship',
      headers: AUTH,
      payload: deliveryBody({ order_no: 'ORD-H' }),
    });
    await until('the job of the held account to park', async () =>
      sample(await h.metrics.scrape(), 'fulfillment_jobs_parked_total', { account: 'dm1', why: 'held' }),
    );
    // Requests that put secrets where a careless label would pick them up.
    await h.inject({ url: `/v1/jobs/${SECRETS.vvToken}`, headers: AUTH });
    await h.inject({
      url: `/nothing/${SECRETS.key}`,
      headers: { authorization: `Bearer ${SECRETS.otherKey}` },
    });
    await h.inject({
      url: `/v1/accounts?token=${SECRETS.dmToken}`,
      headers: { authorization: `Bearer ${SECRETS.adminPassword}` },
    });
    const response = await h.inject({ url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    text = response.body;
  });

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.close(true)));
    connection?.disconnect();
    await h?.close();
    await sandbox?.close();
  });

  it('counts what the workers did', () => {
    expect(
      sample(text, 'fulfillment_job_outcomes_total', { name: 'vvtool.send', code: '0', outcome: 'done' }),
    ).toBe(1);
    expect(sample(text, 'fulfillment_job_outcomes_total', { name: 'damaijia.sync', outcome: 'done' })).toBe(
      1,
    );
    expect(sample(text, 'fulfillment_unknown_charges_total', { account: 'dm1' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'fulfillment_coupons_spent_total', { account: 'vv1', provider: 'vvtool' })).toBe(1);
    expect(
      sample(text, 'fulfillment_job_outcomes_total', { name: 'vvtool.send', code: '614', outcome: 'dead' }),
    ).toBe(2);
    expect(sample(text, 'fulfillment_upstream_call_duration_seconds_count', { provider: 'vvtool' })).toBe(3);
    expect(
      sample(text, 'fulfillment_jobs_parked_total', { account: 'dm1', why: 'held' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'fulfillment_limiter_wait_seconds_count', { account: 'vv1' })).toBeGreaterThanOrEqual(
      2,
    );
  });

  it('reads queue, dead-letter and held-account gauges from Redis', () => {
    expect(sample(text, 'fulfillment_redis_up')).toBe(1);
    expect(sample(text, 'fulfillment_dead_letter_jobs')).toBe(2);
    expect(sample(text, 'fulfillment_queue_jobs', { queue: 'dead-letter', state: 'waiting' })).toBe(2);
    expect(sample(text, 'fulfillment_queue_jobs', { queue: 'ship', state: 'failed' })).toBe(0);
    expect(sample(text, 'fulfillment_queue_jobs', { queue: 'ship', state: 'delayed' })).toBe(1);
    expect(sample(text, 'fulfillment_accounts_held')).toBe(1);
    expect(sample(text, 'fulfillment_account_held', { account: 'dm1', provider: 'damaijia' })).toBe(1);
    expect(sample(text, 'fulfillment_account_held', { account: 'vv1', provider: 'vvtool' })).toBe(0);
  });

  it('labels HTTP requests by route template, never by raw URL', () => {
    expect(
      sample(text, 'fulfillment_http_request_duration_seconds_count', { route: '/v1/ship', status: '202' }),
    ).toBe(5);
    expect(
      sample(text, 'fulfillment_http_request_duration_seconds_count', {
        route: '/v1/jobs/:id',
        status: '404',
      }),
    ).toBe(1);
    expect(
      sample(text, 'fulfillment_http_request_duration_seconds_count', { route: 'unmatched', status: '404' }),
    ).toBe(1);
  });

  it('holds no token, API key or password anywhere', () => {
    for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
    expect(h.leakedSecrets()).toEqual([]);
  });
});
