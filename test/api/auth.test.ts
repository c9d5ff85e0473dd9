import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { constantTimeEqual, matchesSecret } from '../../src/api/index.js';
import { Secret } from '../../src/config/index.js';
import { ADMIN_USER, AUTH, type Harness, SECRETS, startHarness } from './harness.js';

let h: Harness;
let v1Routes: Array<{ method: string; url: string }>;

beforeAll(async () => {
  h = await startHarness('api-auth');
  const doc = (await h.inject({ url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, unknown>>;
  };
  v1Routes = Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => ({
        method: method.toUpperCase(),
        url: path.replace('{id}', 'vv1'),
      })),
    );
});

afterAll(async () => {
  expect(h.leakedSecrets()).toEqual([]);
  await h.close();
});

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('bearer keys on /v1', () => {
  it('covers every /v1 operation of the public contract', () => {
    expect(v1Routes.map((route) => `${route.method} ${route.url}`).sort()).toEqual([
      'DELETE /v1/dead-letter/vv1',
      'GET /v1/accounts',
      'GET /v1/dead-letter',
      'GET /v1/jobs',
      'GET /v1/jobs/vv1',
      'GET /v1/ledger/entries',
      'GET /v1/ledger/summary',
      'POST /v1/accounts/vv1/hold',
      'POST /v1/accounts/vv1/resume',
      'POST /v1/batch',
      'POST /v1/dead-letter/redrive',
      'POST /v1/ship',
      'POST /v1/sync',
    ]);
  });

  const refused: Array<[string, Record<string, string>]> = [
    ['no Authorization header', {}],
    ['an unknown key', { authorization: 'Bearer not-a-key-0000000000' }],
    ['a prefix of a real key', { authorization: `Bearer ${SECRETS.key.slice(0, -1)}` }],
    ['a real key with more after it', { authorization: `Bearer ${SECRETS.key}x` }],
    ['a real key in another case', { authorization: `Bearer ${SECRETS.key.toUpperCase()}` }],
    ['the key without the Bearer scheme', { authorization: SECRETS.key }],
    ['the key as basic auth', { authorization: basic('api', SECRETS.key) }],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['the admin password', { authorization: `Bearer ${SECRETS.adminPassword}` }],
    ['the key in another header', { 'x-api-key': SECRETS.key }],
  ];

  for (const [name, headers] of refused) {
    it(`401 in the error shape for ${name}, on every /v1 route`, async () => {
      for (const route of v1Routes) {
        const response = await h.inject({ method: route.method as 'GET', url: route.url, headers });
        expect(response.statusCode, `${route.method} ${route.url}`).toBe(401);
        expect(response.json()).toMatchObject({
          error: 'unauthorized',
          issues: [expect.objectContaining({ path: 'authorization' })],
        });
        expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
      }
    });
  }

  it('lets either configured key through on every /v1 route', async () => {
    for (const key of [SECRETS.key, SECRETS.otherKey]) {
      for (const route of v1Routes) {
        const response = await h.inject({
          method: route.method as 'GET',
          url: route.url,
          headers: { authorization: `Bearer ${key}` },
        });
        expect(response.statusCode, `${route.method} ${route.url}`).not.toBe(401);
        // The job list needs DATABASE_URL (the records in PostgreSQL); without it, 501 says so.
        if (`${route.method} ${route.url}` === 'GET /v1/jobs') expect(response.statusCode).toBe(501);
        else expect(response.statusCode).toBeLessThan(500);
      }
    }
  });

  it('takes the scheme in any case', async () => {
    const response = await h.inject({
      url: '/v1/accounts',
      headers: { authorization: `bearer ${SECRETS.key}` },
    });
    expect(response.statusCode).toBe(200);
  });

  it('asks no key of probes, metrics and docs', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']) {
      expect((await h.inject({ url })).statusCode, url).toBe(200);
    }
  });

  it('checks the key before the body: a bad body without a key is a 401', async () => {
    const response = await h.inject({
      method: 'POST',
      url: '/v1/ship',
      headers: { 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(response.statusCode).toBe(401);
  });
});

describe('basic auth on Bull Board', () => {
  const boardUrls = ['/admin/queues', '/admin/queues/queue/dead-letter', '/admin/queues/api/queues'];

  it('401 with a Basic challenge without credentials or with wrong ones', async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: basic(ADMIN_USER, 'wrong-password') },
      { authorization: basic('someone', SECRETS.adminPassword) },
      { authorization: basic(ADMIN_USER, `${SECRETS.adminPassword}x`) },
      { authorization: `Bearer ${SECRETS.key}` },
      { authorization: 'Basic !!!' },
    ];
    for (const url of boardUrls) {
      for (const headers of attempts) {
        const response = await h.inject({ url, headers });
        expect(response.statusCode, `${url} ${JSON.stringify(headers)}`).toBe(401);
        expect(response.headers['www-authenticate']).toMatch(/^Basic realm=/);
        expect(response.json().error).toBe('unauthorized');
      }
    }
  });

  it('serves the board with ADMIN_USER / ADMIN_PASSWORD', async () => {
    const authorization = basic(ADMIN_USER, SECRETS.adminPassword);
    const page = await h.inject({ url: '/admin/queues', headers: { authorization } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const queues = await h.inject({ url: '/admin/queues/api/queues', headers: { authorization } });
    expect(queues.statusCode).toBe(200);
    const names = (queues.json() as { queues: Array<{ name: string }> }).queues
      .map((queue) => queue.name)
      .sort();
    expect(names).toEqual(['dead-letter', 'ship', 'sync']);
  });

  it('is not mounted without admin credentials, and says so in the log', async () => {
    const open = await startHarness('api-auth-noboard', { ADMIN_USER: '', ADMIN_PASSWORD: '' });
    try {
      const response = await open.inject({ url: '/admin/queues' });
      expect(response.statusCode).toBe(404);
      expect(response.json().error).toBe('not found');
      const warned = open.logs.map((line) => JSON.parse(line)).find((line) => line.level === 40);
      expect(warned?.msg).toMatch(/Bull Board is not served/);
      expect((await open.inject({ url: '/v1/accounts', headers: AUTH })).statusCode).toBe(200);
    } finally {
      await open.close();
    }
  });
});

describe('constant-time comparison', () => {
  it('matches only an equal string', () => {
    const keys = [new Secret('first-key-0123456789'), new Secret('second-key-0123456789')];
    expect(matchesSecret('first-key-0123456789', keys)).toBe(true);
    expect(matchesSecret('second-key-0123456789', keys)).toBe(true);
    expect(matchesSecret('first-key-012345678', keys)).toBe(false);
    expect(matchesSecret('', keys)).toBe(false);
    expect(matchesSecret('anything', [])).toBe(false);
    expect(constantTimeEqual('a', 'a')).toBe(true);
    expect(constantTimeEqual('a', 'ab')).toBe(false);
    expect(constantTimeEqual('é', 'e')).toBe(false);
  });
});
