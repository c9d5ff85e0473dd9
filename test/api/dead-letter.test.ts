import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AUTH, deliveryBody, type Harness, makeDead, shipBody, startHarness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness('api-dead');
});

afterAll(async () => {
  expect(h.leakedSecrets()).toEqual([]);
  await h.close();
});

async function reset(): Promise<void> {
  for (const queue of [h.service.queues.ship, h.service.queues.sync, h.service.deadLetterQueue]) {
    await queue.obliterate({ force: true });
  }
  const markers = await h.t.redis.keys(`${h.t.prefix}:idem:*`);
  if (markers.length > 0) await h.t.redis.del(...markers);
}

const list = (query = '') => h.inject({ url: `/v1/dead-letter${query}`, headers: AUTH });

describe('GET /v1/dead-letter', () => {
  const ids: string[] = [];

  beforeAll(async () => {
    await reset();
    ids.push(
      await makeDead(h.service, shipBody({ tid: '1' }), { code: 614, failedAt: Date.UTC(2024, 4, 1) }),
    );
    ids.push(await makeDead(h.service, shipBody({ tid: '2' }), { code: 100, reason: 'bad parameter' }));
    ids.push(await makeDead(h.service, deliveryBody(), { code: 132, reason: 'order not found' }));
  });

  it('lists dead jobs oldest first with their reason, ISO times', async () => {
    const response = await list();
    expect(response.statusCode).toBe(200);
    const { items, next } = response.json();
    expect(next).toBeNull();
    expect(items.map((item: { id: string }) => item.id)).toEqual(ids);
    expect(items[0]).toEqual({
      id: 'vvtool.vv1.1.all.YT1234567890',
      queue: 'ship',
      name: 'vvtool.send',
      account: 'vv1',
      data: expect.objectContaining({ account: 'vv1', tid: '1', out_sid: 'YT1234567890' }),
      code: 614,
      message: '运单号不符合规则',
      reason: 'isv error: the upstream refused the waybill',
      attemptsMade: 1,
      failedAt: '2024-05-01T00:00:00.000Z',
    });
  });

  it('filters by account, code and queue', async () => {
    expect((await list('?account=dm1')).json().items.map((item: { id: string }) => item.id)).toEqual([
      ids[2],
    ]);
    expect((await list('?code=100')).json().items.map((item: { id: string }) => item.id)).toEqual([ids[1]]);
    expect((await list('?queue=sync')).json().items).toEqual([]);
    expect((await list('?queue=ship&account=vv1&code=614')).json().items).toHaveLength(1);
  });

  it('pages with limit and an opaque cursor', async () => {
    const first = (await list('?limit=2')).json();
    expect(first.items).toHaveLength(2);
    expect(typeof first.next).toBe('string');
    const second = (await list(`?limit=2&cursor=${encodeURIComponent(first.next)}`)).json();
    expect(second.items.map((item: { id: string }) => item.id)).toEqual([ids[2]]);
    expect(second.next).toBeNull();
  });

  const refused: Array<[string, string]> = [
    ['?limit=1001', 'limit'],
    ['?limit=0', 'limit'],
    ['?limit=ten', 'limit'],
    ['?limit=2.5', 'limit'],
    ['?code=abc', 'code'],
    ['?queue=dead-letter', 'queue'],
    ['?account=has%20space', 'account'],
    ['?cursor=bm9wZQ', 'cursor'],
  ];
  for (const [query, path] of refused) {
    it(`400 naming ${path} for ${query}`, async () => {
      const response = await list(query);
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toBe('invalid request');
      expect(response.json().issues.map((issue: { path: string }) => issue.path)).toEqual([path]);
    });
  }

  it('takes limit=1000', async () => {
    expect((await list('?limit=1000')).statusCode).toBe(200);
  });
});

describe('POST /v1/dead-letter/redrive', () => {
  beforeEach(reset);

  const redrive = (payload: unknown) =>
    h.inject({ method: 'POST', url: '/v1/dead-letter/redrive', headers: AUTH, payload: payload as string });

  it('puts jobs back by id, patched, under their own id', async () => {
    const id = await makeDead(h.service, shipBody({ tid: '5' }));
    const response = await redrive({ ids: [id], patch: { out_sid: 'YT0000000001' } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ redriven: 1, ids: [id] });
    const job = await h.service.queues.ship.getJob(id);
    expect(job?.data.out_sid).toBe('YT0000000001');
    expect(await h.service.deadLetters.count()).toBe(0);
  });

  it('redrives by filter', async () => {
    await makeDead(h.service, shipBody({ tid: '6' }), { code: 614 });
    const other = await makeDead(h.service, deliveryBody(), { code: 132 });
    const response = await redrive({ filter: { code: 614 } });
    expect(response.json().redriven).toBe(1);
    expect((await list()).json().items.map((item: { id: string }) => item.id)).toEqual([other]);
  });

  it('refuses a patch that makes a job invalid, and moves nothing', async () => {
    const id = await makeDead(h.service, shipBody({ tid: '7' }));
    const response = await redrive({ ids: [id], patch: { out_sid: 'no' } });
    expect(response.statusCode).toBe(400);
    expect(response.json().issues[0].path).toMatch(/out_sid$/);
    expect(await h.service.deadLetters.count()).toBe(1);
    expect(await h.service.queues.ship.getJob(id)).toBeUndefined();
  });

  const refused: Array<[string, unknown, string]> = [
    ['neither ids nor filter', {}, 'body'],
    ['both ids and filter', { ids: ['a'], filter: {} }, 'body'],
    ['ids not an array', { ids: 'abc' }, 'ids'],
    ['an empty ids list', { ids: [] }, 'ids'],
    ['an unknown dead job', { ids: ['vvtool.vv1.9.all.NOPE1234'] }, 'ids'],
    ['a filter with an unknown field', { filter: { shop: 'x' } }, 'filter.shop'],
    ['a filter code that is text', { filter: { code: '614' } }, 'filter.code'],
    ['a patch that is not an object', { ids: ['a'], patch: [1] }, 'patch'],
    ['an unknown field', { ids: ['a'], force: true }, 'force'],
  ];
  for (const [name, body, path] of refused) {
    it(`400 naming ${path} for ${name}`, async () => {
      const response = await redrive(body);
      expect(response.statusCode).toBe(400);
      expect(response.json().issues.map((issue: { path: string }) => issue.path)).toContain(path);
    });
  }
});

describe('DELETE /v1/dead-letter/:id', () => {
  beforeEach(reset);

  it('204 and gone; 404 the second time', async () => {
    const id = await makeDead(h.service, shipBody({ tid: '8' }));
    const url = `/v1/dead-letter/${encodeURIComponent(id)}`;
    const first = await h.inject({ method: 'DELETE', url, headers: AUTH });
    expect(first.statusCode).toBe(204);
    expect(first.body).toBe('');
    expect(await h.service.deadLetters.count()).toBe(0);
    const second = await h.inject({ method: 'DELETE', url, headers: AUTH });
    expect(second.statusCode).toBe(404);
    expect(second.json()).toMatchObject({
      error: 'not found',
      issues: [{ path: 'id', message: 'no dead job with this id' }],
    });
  });

  it('frees the key: the shipment can be enqueued afresh', async () => {
    const id = await makeDead(h.service, shipBody({ tid: '9' }));
    const before = await h.inject({
      method: 'POST',
      url: '/v1/ship',
      headers: AUTH,
      payload: shipBody({ tid: '9' }),
    });
    expect(before.json()).toMatchObject({ id, state: 'dead', duplicate: true });
    await h.inject({ method: 'DELETE', url: `/v1/dead-letter/${id}`, headers: AUTH });
    const after = await h.inject({
      method: 'POST',
      url: '/v1/ship',
      headers: AUTH,
      payload: shipBody({ tid: '9' }),
    });
    expect(after.json()).toEqual({ id, state: 'waiting', duplicate: false });
  });

  it('shows a dead job through GET /v1/jobs/:id', async () => {
    const id = await makeDead(h.service, shipBody({ tid: '10' }));
    const response = await h.inject({ url: `/v1/jobs/${id}`, headers: AUTH });
    expect(response.json()).toMatchObject({
      id,
      queue: 'dead-letter',
      state: 'dead',
      lastError: expect.any(String),
    });
  });
});
