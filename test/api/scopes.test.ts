import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUTH,
  type Harness,
  makeDead,
  PRODUCER_AUTH,
  redisSnapshot,
  SECRETS,
  shipBody,
  startHarness,
  syncBody,
} from './harness.js';

let h: Harness;
let routes: Array<{ method: string; path: string }>;

beforeAll(async () => {
  h = await startHarness('api-scopes');
  // Every /v1 operation the app documents: a route added later is covered without touching this test.
  const doc = (await h.inject({ url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, unknown>>;
  };
  routes = Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => ({ method: method.toUpperCase(), path })),
    );
});

afterAll(async () => {
  expect(h.leakedSecrets()).toEqual([]);
  await h.close();
});

/** What a producer key may do; every other documented /v1 operation must answer it 403. */
const PRODUCER_MAY = new Set([
  'POST /v1/ship',
  'POST /v1/sync',
  'POST /v1/batch',
  'GET /v1/jobs/{id}',
  'GET /v1/jobs',
]);

/** A request for each operation that would change something if it were let through. */
function requestFor(route: { method: string; path: string }, deadId: string, otherDeadId = deadId) {
  // The redrive and the delete each get a dead job of their own, so both can act on it.
  const id = route.path.startsWith('/v1/accounts') ? 'vv1' : route.method === 'DELETE' ? otherDeadId : deadId;
  const url = route.path.replace('{id}', encodeURIComponent(id));
  const bodies: Record<string, Record<string, unknown>> = {
    'POST /v1/dead-letter/redrive': { ids: [deadId] },
    'POST /v1/accounts/{id}/hold': { reason: 'held by a producer key' },
    'POST /v1/ship': shipBody({ tid: '5550001' }),
    'POST /v1/sync': syncBody(),
    'POST /v1/batch': { jobs: [{ type: 'sync', ...syncBody() }] },
  };
  const payload = bodies[`${route.method} ${route.path}`];
  return { method: route.method as 'GET', url, ...(payload === undefined ? {} : { payload }) };
}

describe('a producer key (PRODUCER_API_KEYS)', () => {
  it('gets 403 in the error shape on every /v1 operation but enqueue and job reads, and changes nothing', async () => {
    const deadId = await makeDead(h.service, shipBody({ tid: '5550000', out_sid: 'YT5550000000' }));
    const otherDeadId = await makeDead(h.service, shipBody({ tid: '5550003', out_sid: 'YT5550003000' }));
    await h.service.limiter.hold('dm1', { reason: 'balance spent', code: 209, message: '余额不足' });
    const forbidden = routes.filter((route) => !PRODUCER_MAY.has(`${route.method} ${route.path}`));
    expect(forbidden.length).toBeGreaterThanOrEqual(8);
    const before = await redisSnapshot(h.t);
    for (const route of forbidden) {
      const response = await h.inject({ ...requestFor(route, deadId, otherDeadId), headers: PRODUCER_AUTH });
      expect(response.statusCode, `${route.method} ${route.path}`).toBe(403);
      expect(response.json()).toMatchObject({
        error: 'forbidden',
        issues: [
          {
            path: 'authorization',
            message: 'is a producer key (PRODUCER_API_KEYS): it may enqueue and read jobs only',
          },
        ],
      });
    }
    // Also for the resume of the account held above, and without a body.
    const resume = await h.inject({ method: 'POST', url: '/v1/accounts/dm1/resume', headers: PRODUCER_AUTH });
    expect(resume.statusCode).toBe(403);
    expect(await redisSnapshot(h.t)).toEqual(before);
    expect((await h.service.listAccounts()).find((a) => a.id === 'dm1')?.state).toBe('held');
    expect(await h.service.deadLetters.get(deadId)).not.toBeNull();
    expect(await h.service.deadLetters.get(otherDeadId)).not.toBeNull();

    // The same requests with an operator key do change things: the snapshot can tell.
    for (const route of forbidden.filter((r) => r.method !== 'GET')) {
      const response = await h.inject({ ...requestFor(route, deadId, otherDeadId), headers: AUTH });
      expect(response.statusCode, `${route.method} ${route.path}`).toBeLessThan(300);
    }
    expect(await redisSnapshot(h.t)).not.toEqual(before);
  });

  it('may enqueue and read jobs', async () => {
    for (const route of routes.filter((r) => PRODUCER_MAY.has(`${r.method} ${r.path}`))) {
      const response = await h.inject({ ...requestFor(route, 'no-such-job'), headers: PRODUCER_AUTH });
      // 501: the job list needs DATABASE_URL, which this harness has not; allowed, not forbidden.
      expect([200, 202, 404, 501], `${route.method} ${route.path}`).toContain(response.statusCode);
    }
    const shipped = await h.inject({
      method: 'POST',
      url: '/v1/ship',
      headers: PRODUCER_AUTH,
      payload: shipBody({ tid: '5550002' }),
    });
    expect(shipped.statusCode).toBe(202);
    const read = await h.inject({ url: `/v1/jobs/${shipped.json().id}`, headers: PRODUCER_AUTH });
    expect([read.statusCode, read.json().state]).toEqual([200, 'waiting']);
    const head = await h.inject({
      method: 'HEAD',
      url: `/v1/jobs/${shipped.json().id}`,
      headers: PRODUCER_AUTH,
    });
    expect(head.statusCode).toBe(200);
  });

  it('is still a 401 when it is wrong, before any scope is looked at', async () => {
    const response = await h.inject({
      method: 'POST',
      url: '/v1/dead-letter/redrive',
      headers: { authorization: `Bearer ${SECRETS.producerKey}x` },
      payload: { ids: ['x'] },
    });
    expect(response.statusCode).toBe(401);
  });
});

describe('operator actions', () => {
  const fingerprint = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 12);
  const actionLines = () =>
    h.logs
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line['msg'] === 'operator action');

  it('logs redrive, dead-letter delete, hold and resume at info with the key fingerprint, never the key', async () => {
    const seen = actionLines().length;
    const redriveId = await makeDead(h.service, shipBody({ tid: '5550010', out_sid: 'YT5550010000' }));
    const purgeId = await makeDead(h.service, shipBody({ tid: '5550011', out_sid: 'YT5550011000' }));
    const other = { authorization: `Bearer ${SECRETS.otherKey}` };
    const answers = [
      await h.inject({
        method: 'POST',
        url: '/v1/dead-letter/redrive',
        headers: AUTH,
        payload: { ids: [redriveId], patch: { company_code: 'ZTO' } },
      }),
      await h.inject({ method: 'DELETE', url: `/v1/dead-letter/${purgeId}`, headers: other }),
      await h.inject({
        method: 'POST',
        url: '/v1/accounts/vv1/hold',
        headers: AUTH,
        payload: { reason: 'carrier contract under review' },
      }),
      await h.inject({ method: 'POST', url: '/v1/accounts/vv1/resume', headers: other }),
    ];
    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 204, 200, 200]);

    const lines = actionLines().slice(seen);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 30,
        action: 'redrive',
        keyFingerprint: fingerprint(SECRETS.key),
        redriven: 1,
        ids: [redriveId],
        patched: ['company_code'],
      }),
      expect.objectContaining({
        level: 30,
        action: 'dead-letter delete',
        keyFingerprint: fingerprint(SECRETS.otherKey),
        id: purgeId,
      }),
      expect.objectContaining({
        level: 30,
        action: 'hold',
        keyFingerprint: fingerprint(SECRETS.key),
        account: 'vv1',
        changed: true,
      }),
      expect.objectContaining({
        level: 30,
        action: 'resume',
        keyFingerprint: fingerprint(SECRETS.otherKey),
        account: 'vv1',
      }),
    ]);
    expect(fingerprint(SECRETS.key)).toMatch(/^[0-9a-f]{12}$/);
    expect(fingerprint(SECRETS.key)).not.toBe(fingerprint(SECRETS.otherKey));
    const text = lines.map((line) => JSON.stringify(line)).join('\n');
    for (const key of [SECRETS.key, SECRETS.otherKey, SECRETS.producerKey]) expect(text).not.toContain(key);
  });
});
