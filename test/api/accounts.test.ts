import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, type Harness, startHarness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness('api-accounts');
});

afterAll(async () => {
  expect(h.leakedSecrets()).toEqual([]);
  await h.close();
});

const accounts = async () => (await h.inject({ url: '/v1/accounts', headers: AUTH })).json().items;

describe('GET /v1/accounts', () => {
  it('lists the configured accounts, active, without tokens', async () => {
    const response = await h.inject({ url: '/v1/accounts', headers: AUTH });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      items: [
        {
          id: 'vv1',
          provider: 'vvtool',
          ratePerSecond: 10,
          state: 'active',
          reason: null,
          code: null,
          since: null,
          backlog: 0,
        },
        {
          id: 'dm1',
          provider: 'damaijia',
          ratePerSecond: 5,
          state: 'active',
          reason: null,
          code: null,
          since: null,
          backlog: 0,
        },
      ],
    });
    expect(response.body).not.toMatch(/token/i);
  });

  it('shows a held account with its reason and since as ISO 8601', async () => {
    await h.service.limiter.hold('dm1', {
      reason: 'balance spent; top up, then resume',
      code: 209,
      message: '余额不足',
    });
    const held = (await accounts()).find((account: { id: string }) => account.id === 'dm1');
    expect(held).toMatchObject({ state: 'held', reason: 'balance spent; top up, then resume', code: 209 });
    expect(new Date(held.since).toISOString()).toBe(held.since);
  });
});

describe('POST /v1/accounts/:id/resume', () => {
  const resume = (id: string, extra: { headers?: Record<string, string>; payload?: string } = {}) =>
    h.inject({
      method: 'POST',
      url: `/v1/accounts/${id}/resume`,
      headers: { ...AUTH, ...extra.headers },
      payload: extra.payload,
    });

  it('resumes a held account: 200 { id, state: active }', async () => {
    await h.service.limiter.hold('vv1', { reason: 'token rejected', code: 401, message: 'bad token' });
    const response = await resume('vv1');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ id: 'vv1', state: 'active', released: 0 });
    expect((await accounts())[0]).toMatchObject({ id: 'vv1', state: 'active', reason: null, since: null });
  });

  it('takes no body, also when the client says application/json', async () => {
    expect((await resume('dm1', { headers: { 'content-type': 'application/json' } })).statusCode).toBe(200);
    expect(
      (await resume('dm1', { headers: { 'content-type': 'application/json' }, payload: '{}' })).statusCode,
    ).toBe(200);
    expect((await accounts())[1].state).toBe('active');
  });

  it('404 for an account that is not configured', async () => {
    const response = await resume('ghost');
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({
      error: 'not found',
      issues: [{ path: 'id', message: 'no configured account with this id' }],
    });
  });

  it('400 naming id for an id that cannot be an account', async () => {
    const response = await resume('bad%20id');
    expect(response.statusCode).toBe(400);
    expect(response.json().issues.map((issue: { path: string }) => issue.path)).toEqual(['id']);
  });
});

describe('POST /v1/accounts/:id/hold', () => {
  const hold = (id: string, payload?: unknown) =>
    h.inject({
      method: 'POST',
      url: `/v1/accounts/${id}/hold`,
      headers: AUTH,
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
  const dm1 = async () => (await accounts()).find((account: { id: string }) => account.id === 'dm1');

  it('holds an account by hand: 200 { id, state: held }, shown with its reason and no code', async () => {
    expect((await dm1()).state).toBe('active');
    const response = await hold('dm1', { reason: 'carrier contract under review' });
    expect([response.statusCode, response.json()]).toEqual([200, { id: 'dm1', state: 'held' }]);
    const held = await dm1();
    expect(held).toMatchObject({ state: 'held', reason: 'carrier contract under review', code: null });
    expect(new Date(held.since).toISOString()).toBe(held.since);
  });

  it('changes nothing when the account is held already', async () => {
    const before = await dm1();
    const again = await hold('dm1', { reason: 'a second reason' });
    expect([again.statusCode, again.json()]).toEqual([200, { id: 'dm1', state: 'held' }]);
    expect(await dm1()).toEqual(before);
    await h.inject({ method: 'POST', url: '/v1/accounts/dm1/resume', headers: AUTH });
    expect((await dm1()).state).toBe('active');
  });

  it('404 for an account that is not configured', async () => {
    const response = await hold('ghost', { reason: 'why not' });
    expect([response.statusCode, response.json()]).toMatchObject([
      404,
      { error: 'not found', issues: [{ path: 'id', message: 'no configured account with this id' }] },
    ]);
  });

  it.each([
    ['no body', undefined, [{ path: 'body', message: 'must be a JSON object {"reason": "…"}' }]],
    ['an array', ['x'], [{ path: 'body', message: 'must be a JSON object {"reason": "…"}' }]],
    ['no reason', {}, [{ path: 'reason', message: 'is required' }]],
    [
      'an empty reason',
      { reason: '' },
      [
        {
          path: 'reason',
          message: 'must be a string of 1-256 characters without control characters; got an empty string',
        },
      ],
    ],
    ['a blank reason', { reason: '   ' }, [{ path: 'reason', message: 'must not be blank' }]],
    [
      'a reason of 257 characters',
      { reason: 'é'.repeat(257) },
      [
        {
          path: 'reason',
          message: 'must be a string of 1-256 characters without control characters; got 257 characters',
        },
      ],
    ],
    [
      'a control character',
      { reason: 'line\nbreak' },
      [{ path: 'reason', message: 'must be a string of 1-256 characters without control characters' }],
    ],
    [
      'a number',
      { reason: 42 },
      [{ path: 'reason', message: 'must be a string of 1-256 characters without control characters' }],
    ],
    ['an unknown field', { reason: 'ok', code: 401 }, [{ path: 'code', message: 'unknown field' }]],
  ])('400 naming the field for %s, and holds nothing', async (_name, payload, issues) => {
    const response = await hold('vv1', payload);
    expect([response.statusCode, response.json()]).toMatchObject([400, { error: 'invalid request', issues }]);
    expect((await accounts())[0].state).toBe('active');
  });

  it('takes a reason of exactly 256 characters', async () => {
    expect((await hold('vv1', { reason: '理'.repeat(256) })).statusCode).toBe(200);
    await h.inject({ method: 'POST', url: '/v1/accounts/vv1/resume', headers: AUTH });
  });
});
