import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, type Harness, queuedJobs, SECRETS, shipBody, startHarness, syncBody } from './harness.js';

/** A battery of bad requests: each a 4xx in the error shape naming the problem, and nothing enqueued. */
let h: Harness;

beforeAll(async () => {
  h = await startHarness('api-bad-bodies');
});

afterAll(async () => {
  expect(h.leakedSecrets()).toEqual([]);
  await h.close();
});

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  h.inject({ method: 'POST', url, headers: { ...AUTH, ...headers }, payload: payload as string });

const json = (url: string, text: string) =>
  h.inject({ method: 'POST', url, headers: { ...AUTH, 'content-type': 'application/json' }, payload: text });

describe('bad bodies: 4xx in the error shape, nothing enqueued', () => {
  beforeAll(async () => {
    await h.service.queues.ship.obliterate({ force: true });
    await h.service.queues.sync.obliterate({ force: true });
  });

  const cases: Array<{
    name: string;
    url: string;
    send: () => ReturnType<typeof post>;
    status: number;
    path: string;
  }> = [
    {
      name: 'malformed JSON',
      url: '/v1/ship',
      send: () => json('/v1/ship', '{"account": "vv1",'),
      status: 400,
      path: 'body',
    },
    {
      name: 'malformed JSON in a batch',
      url: '/v1/batch',
      send: () => json('/v1/batch', '{"jobs": [}'),
      status: 400,
      path: 'body',
    },
    { name: 'empty JSON body', url: '/v1/ship', send: () => json('/v1/ship', ''), status: 400, path: 'body' },
    {
      name: 'a JSON array',
      url: '/v1/ship',
      send: () => json('/v1/ship', '[1,2]'),
      status: 400,
      path: 'body',
    },
    {
      name: 'a JSON string',
      url: '/v1/sync',
      send: () => json('/v1/sync', '"hello"'),
      status: 400,
      path: 'body',
    },
    { name: 'null', url: '/v1/ship', send: () => json('/v1/ship', 'null'), status: 400, path: 'body' },
    {
      name: 'no body at all',
      url: '/v1/ship',
      send: () => h.inject({ method: 'POST', url: '/v1/ship', headers: AUTH }),
      status: 400,
      path: 'body',
    },
    {
      name: 'tid of the wrong type',
      url: '/v1/ship',
      send: () => post('/v1/ship', shipBody({ tid: { n: 1 } })),
      status: 400,
      path: 'tid',
    },
    {
      name: 'tid past 2^53 as a number',
      url: '/v1/ship',
      send: () =>
        json('/v1/ship', JSON.stringify(shipBody()).replace('"4011223344556677889"', '4011223344556677889')),
      status: 400,
      path: 'tid',
    },
    {
      name: 'is_split without sub_tid',
      url: '/v1/ship',
      send: () => post('/v1/ship', shipBody({ is_split: 1 })),
      status: 400,
      path: 'is_split',
    },
    {
      name: 'account of the wrong type',
      url: '/v1/sync',
      send: () => post('/v1/sync', syncBody({ account: 7 })),
      status: 400,
      path: 'account',
    },
    {
      name: 'sync on a vvtool account',
      url: '/v1/sync',
      send: () => post('/v1/sync', syncBody({ account: 'vv1' })),
      status: 400,
      path: 'account',
    },
    {
      name: 'a control character',
      url: '/v1/sync',
      send: () => post('/v1/sync', syncBody({ ownerId: 'a\u0007b' })),
      status: 400,
      path: 'ownerId',
    },
    {
      name: '__proto__ key',
      url: '/v1/ship',
      send: () => json('/v1/ship', '{"account":"vv1","__proto__":{"polluted":true}}'),
      status: 400,
      path: '__proto__',
    },
    {
      name: 'nested __proto__ key',
      url: '/v1/batch',
      send: () => json('/v1/batch', '{"jobs":[{"type":"ship","x":{"__proto__":{"a":1}}}]}'),
      status: 400,
      path: 'jobs.0.x.__proto__',
    },
    {
      name: 'constructor.prototype key',
      url: '/v1/ship',
      send: () => json('/v1/ship', '{"constructor":{"prototype":{"a":1}}}'),
      status: 400,
      path: 'constructor',
    },
    {
      name: 'text/plain body',
      url: '/v1/ship',
      send: () => post('/v1/ship', 'account=vv1', { 'content-type': 'text/plain' }),
      status: 415,
      path: 'content-type',
    },
    {
      name: 'body over 1 MiB',
      url: '/v1/ship',
      send: () =>
        post('/v1/ship', JSON.stringify(shipBody({ shop_id: 'x'.repeat(1_100_000) })), {
          'content-type': 'application/json',
        }),
      status: 413,
      path: 'body',
    },
    {
      name: 'batch over 1 MiB',
      url: '/v1/batch',
      send: () =>
        post('/v1/batch', {
          jobs: Array.from({ length: 1000 }, (_, i) => ({
            type: 'ship',
            ...shipBody({ tid: String(i), feature: 'f'.repeat(1100) }),
          })),
        }),
      status: 413,
      path: 'body',
    },
    {
      name: 'batch without jobs',
      url: '/v1/batch',
      send: () => post('/v1/batch', {}),
      status: 400,
      path: 'jobs',
    },
    {
      name: 'batch jobs not an array',
      url: '/v1/batch',
      send: () => post('/v1/batch', { jobs: { type: 'ship' } }),
      status: 400,
      path: 'jobs',
    },
    {
      name: 'batch with an unknown top-level field',
      url: '/v1/batch',
      send: () => post('/v1/batch', { jobs: [], more: 1 }),
      status: 400,
      path: 'more',
    },
    {
      name: 'batch of 1001 jobs',
      url: '/v1/batch',
      send: () =>
        post('/v1/batch', {
          jobs: Array.from({ length: 1001 }, (_, i) => ({
            type: 'sync',
            ...syncBody({ orderSns: `o${i}` }),
          })),
        }),
      status: 400,
      path: 'jobs',
    },
    {
      name: 'batch item without a type',
      url: '/v1/batch',
      send: () => post('/v1/batch', { jobs: [syncBody()] }),
      status: 400,
      path: 'jobs.0.type',
    },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.status} naming ${c.path}`, async () => {
      const response = await c.send();
      expect(response.statusCode).toBe(c.status);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      const body = response.json();
      expect(Object.keys(body).sort()).toEqual(['detail', 'error', 'issues', 'status', 'title', 'type']);
      expect(typeof body.error).toBe('string');
      expect(body.type).toMatch(/^urn:fulfillment:problem:[a-z-]+$/);
      expect(body.status).toBe(c.status);
      expect(body.issues.map((issue: { path: string }) => issue.path)).toContain(c.path);
      expect(await queuedJobs(h.service)).toBe(0);
    });
  }

  it('does not echo the body back in a JSON syntax error (a token pasted by mistake)', async () => {
    const response = await json('/v1/ship', `{"n": ${SECRETS.vvToken}}`);
    expect(response.statusCode).toBe(400);
    expect(response.json().issues).toEqual([
      { path: 'body', message: "is not valid JSON (Unexpected token 'v')" },
    ]);
    expect(response.body).not.toContain('vv-token');
  });

  it('leaves Object.prototype alone', () => {
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
