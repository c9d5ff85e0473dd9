import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AUTH, deliveryBody, type Harness, queuedJobs, shipBody, startHarness, syncBody } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness('api-jobs');
});

afterAll(async () => {
  expect(h.leakedSecrets()).toEqual([]);
  await h.close();
});

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  h.inject({ method: 'POST', url, headers: { ...AUTH, ...headers }, payload: payload as string });

const _json = (url: string, text: string) =>
  h.inject({ method: 'POST', url, headers: { ...AUTH, 'content-type': 'application/json' }, payload: text });

describe('POST /v1/ship', () => {
  beforeEach(async () => {
    await h.service.queues.ship.obliterate({ force: true });
    await h.t.redis.eval(
      "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end",
      0,
      `${h.t.prefix}:idem:*`,
    );
  });

  it('enqueues a vvtool shipment under its idempotency key, 202', async () => {
    const response = await post('/v1/ship', shipBody());
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({
      id: 'vvtool.vv1.4011223344556677889.all.YT1234567890',
      state: 'waiting',
      duplicate: false,
    });
    const job = await h.service.queues.ship.getJob('vvtool.vv1.4011223344556677889.all.YT1234567890');
    expect(job?.name).toBe('vvtool.send');
    expect(job?.data).toMatchObject({ account: 'vv1', tid: '4011223344556677889', out_sid: 'YT1234567890' });
  });

  it('answers a repeat with the existing job and enqueues nothing new', async () => {
    await post('/v1/ship', shipBody());
    const again = await post('/v1/ship', shipBody());
    expect(again.statusCode).toBe(202);
    expect(again.json()).toMatchObject({ duplicate: true, state: 'waiting' });
    expect(await queuedJobs(h.service)).toBe(1);
  });

  it('picks the damaijia job for a damaijia account', async () => {
    const response = await post('/v1/ship', deliveryBody());
    expect(response.statusCode).toBe(202);
    expect(response.json().id).toBe('damaijia.dm1.ORD-1.ZT987654321');
    expect((await h.service.queues.ship.getJob(response.json().id))?.name).toBe('damaijia.delivery');
  });

  it('names every problem of a bad body, enqueues nothing', async () => {
    const response = await post('/v1/ship', shipBody({ tid: 'abc', out_sid: 'x', extra: 1 }));
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body.error).toBe('invalid request');
    expect(body.issues.map((issue: { path: string }) => issue.path).sort()).toEqual([
      'extra',
      'out_sid',
      'tid',
    ]);
    for (const issue of body.issues) expect(typeof issue.message).toBe('string');
    expect(await queuedJobs(h.service)).toBe(0);
  });

  it('refuses an account that is not configured', async () => {
    const response = await post('/v1/ship', shipBody({ account: 'nobody' }));
    expect(response.statusCode).toBe(400);
    expect(response.json().issues).toContainEqual({
      path: 'account',
      message: 'account "nobody" is not configured',
    });
  });

  it('refuses damaijia fields on a vvtool account', async () => {
    const response = await post('/v1/ship', shipBody({ waybill_no: 'ZT987654321' }));
    expect(response.statusCode).toBe(400);
    expect(response.json().issues.map((issue: { path: string }) => issue.path)).toContain('waybill_no');
  });
});

describe('POST /v1/batch', () => {
  beforeEach(async () => {
    await h.service.queues.ship.obliterate({ force: true });
    await h.service.queues.sync.obliterate({ force: true });
  });

  it('names the bad item by index and field, and enqueues none of the good ones', async () => {
    const jobs = [
      { type: 'ship', ...shipBody({ tid: '1' }) },
      { type: 'sync', ...syncBody() },
      { type: 'ship', ...shipBody({ tid: '3' }) },
      { type: 'ship', ...shipBody({ tid: 'not-digits' }) },
      { type: 'ship', ...deliveryBody({ wp_code: '!' }) },
    ];
    const response = await post('/v1/batch', { jobs });
    expect(response.statusCode).toBe(400);
    const paths = response.json().issues.map((issue: { path: string }) => issue.path);
    expect(paths).toEqual(['jobs.3.tid', 'jobs.4.wp_code']);
    expect(await queuedJobs(h.service)).toBe(0);
  });

  it('enqueues all in input order; a repeat inside the batch gets the first id, duplicate', async () => {
    const jobs = [
      { type: 'ship', ...shipBody({ tid: '1' }) },
      { type: 'sync', ...syncBody() },
      { type: 'ship', ...deliveryBody() },
      { type: 'ship', ...shipBody({ tid: '1' }) },
    ];
    const response = await post('/v1/batch', { jobs });
    expect(response.statusCode).toBe(202);
    const results = response.json().jobs;
    expect(results).toHaveLength(4);
    expect(results[0]).toEqual({ id: 'vvtool.vv1.1.all.YT1234567890', state: 'waiting', duplicate: false });
    expect(results[1].duplicate).toBe(false);
    expect(results[2].id).toBe('damaijia.dm1.ORD-1.ZT987654321');
    expect(results[3]).toEqual({ ...results[0], duplicate: true });
    expect(await queuedJobs(h.service)).toBe(3);
  });

  it('takes 1000 jobs at once', async () => {
    const jobs = Array.from({ length: 1000 }, (_, i) => ({
      type: 'ship',
      ...shipBody({ tid: String(10_000 + i) }),
    }));
    const response = await post('/v1/batch', { jobs });
    expect(response.statusCode).toBe(202);
    expect(response.json().jobs).toHaveLength(1000);
    expect(await h.service.queues.ship.getJobCountByTypes('waiting', 'prioritized')).toBe(1000);
  });

  it('answers an empty batch with no jobs', async () => {
    const response = await post('/v1/batch', { jobs: [] });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ jobs: [] });
  });
});

describe('POST /v1/sync', () => {
  it('enqueues a sync with a generated id (a sync may be repeated on purpose)', async () => {
    const first = await post('/v1/sync', syncBody());
    const second = await post('/v1/sync', syncBody());
    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(202);
    expect(first.json().duplicate).toBe(false);
    expect(second.json().id).not.toBe(first.json().id);
    expect((await h.service.queues.sync.getJob(first.json().id))?.name).toBe('damaijia.sync');
  });
});

describe('GET /v1/jobs/:id', () => {
  it('shows a queued job', async () => {
    const { id } = (await post('/v1/ship', shipBody({ tid: '777' }))).json();
    const response = await h.inject({ url: `/v1/jobs/${encodeURIComponent(id)}`, headers: AUTH });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      id,
      queue: 'ship',
      name: 'vvtool.send',
      state: 'waiting',
      attemptsMade: 0,
      result: null,
      lastError: null,
    });
  });

  it('404 in the error shape for an unknown id', async () => {
    const response = await h.inject({ url: '/v1/jobs/vvtool.vv1.1.all.NOPE123', headers: AUTH });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({
      error: 'not found',
      issues: [{ path: 'id', message: 'no job with this id' }],
    });
  });
});
