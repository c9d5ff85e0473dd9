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
        },
        {
          id: 'dm1',
          provider: 'damaijia',
          ratePerSecond: 5,
          state: 'active',
          reason: null,
          code: null,
          since: null,
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
    expect(response.json()).toEqual({
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
