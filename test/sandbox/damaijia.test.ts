import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { DELIVERY_PATH, delivery, dmjPost, SYNC_PATH } from './helpers.js';

const DMJ = 'dmj-token-aaaa';
const VV = 'vv-token-bbbb';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({
    accounts: [
      { token: DMJ, label: 'dmj', provider: 'damaijia' },
      { token: VV, label: 'vv', provider: 'vvtool' },
    ],
    ratePerSecond: 1000,
  });
});
afterAll(() => sandbox.close());
beforeEach(() => sandbox.reset());

const deliver = (body: unknown, token: string | null = DMJ, authorization?: string) =>
  dmjPost(sandbox.url, DELIVERY_PATH, token, body, authorization);
const sync = (body: unknown, token: string | null = DMJ) => dmjPost(sandbox.url, SYNC_PATH, token, body);

describe('damaijia taoStoreBackstageDelivery: wire format', () => {
  it('delivers and answers {data: {order_no, success, fahuoTime, amount}, status: 0}', async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await deliver(delivery('9001'));
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      data: { order_no: '9001', success: true, fahuoTime: expect.stringMatching(/^\d+$/), amount: 1 },
      status: 0,
    });
    const data = res.body!['data'] as { fahuoTime: string };
    expect(Number(data.fahuoTime)).toBeGreaterThanOrEqual(before);
    expect(sandbox.calls()[0]).toMatchObject({
      operation: 'damaijia.delivery',
      account: 'dmj',
      orderKey: '9001',
      charged: 1,
      processed: true,
    });
  });

  it('accepts waybillNo (the request example) as well as waybill_no (the parameter table)', async () => {
    const { waybill_no: _, ...rest } = delivery('9002');
    expect((await deliver({ ...rest, waybillNo: 'WB90020000' })).body).toMatchObject({ status: 0 });
    // The same waybill under the other key is the same delivery: a replay.
    expect((await deliver({ ...rest, waybill_no: 'WB90020000' })).body).toMatchObject({
      status: 0,
      data: { amount: 0 },
    });
  });

  it('takes numbers for text fields, as JSON clients send them', async () => {
    const res = await deliver({ seller_nick: 'n', order_no: 9003, wp_code: 'YTO', waybill_no: 90030000 });
    expect(res.body).toMatchObject({ status: 0, data: { order_no: '9003' } });
  });
});

describe('damaijia auth: Authorization: <token>, no scheme', () => {
  it.each([
    ['no header', null, undefined],
    ['an unknown token', 'nope', undefined],
    ['"Bearer <token>"', null, `Bearer ${DMJ}`],
    ['a vv-tool-only token', VV, undefined],
  ])('refuses %s with status 200 认证失败, HTTP 200', async (_what, token, authorization) => {
    const res = await deliver(delivery('9101'), token, authorization);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ data: null, status: 200, msg: '认证失败' });
    expect(sandbox.calls()[0]).toMatchObject({ account: null, code: 200, charged: 0 });
  });
});

describe('damaijia codes', () => {
  it.each([
    ['not JSON', 'seller_nick=a&order_no=1'],
    ['a JSON array', '[1,2]'],
    ['empty', ''],
  ])('answers 132 for a body that is %s', async (_what, body) => {
    expect((await deliver(body)).body).toMatchObject({ status: 132, msg: '请求格式必须为JSON' });
    expect((await sync(body)).body).toMatchObject({ status: 132 });
  });

  it.each(['seller_nick', 'order_no', 'wp_code', 'waybill_no'])(
    'answers 422 naming %s when missing',
    async (name) => {
      const body = delivery('9201');
      delete body[name];
      expect((await deliver(body)).body).toMatchObject({ status: 422, err: `${name} 不能为空` });
      expect((await deliver({ ...delivery('9201'), [name]: ' ' })).body).toMatchObject({
        err: `${name} 不能为空`,
      });
    },
  );

  it('answers 422 for a field that is an object', async () => {
    const res = await deliver({ ...delivery('9202'), wp_code: { code: 'YTO' } });
    expect(res.body).toMatchObject({ status: 422, err: 'wp_code 必须是字符串' });
  });

  it('answers an unknown path under /vv/ with HTTP 404', async () => {
    const res = await dmjPost(sandbox.url, '/vv/external/nothing', DMJ, {});
    expect(res.status).toBe(404);
    expect(sandbox.calls()[0]).toMatchObject({ operation: 'unknown', provider: 'damaijia' });
  });
});

describe('damaijia order book', () => {
  it('replays the same delivery: status 0, amount 0, the first fahuoTime, no charge', async () => {
    const first = await deliver(delivery('9301'));
    const again = await deliver(delivery('9301'));
    const fahuoTime = (first.body!['data'] as { fahuoTime: string }).fahuoTime;
    expect(again.body).toEqual({
      data: { order_no: '9301', success: true, fahuoTime, amount: 0 },
      status: 0,
    });
    expect(sandbox.calls().map((call) => call.charged)).toEqual([1, 0]);
  });

  it('refuses the order with another waybill, and a waybill of another order, with 217', async () => {
    await deliver(delivery('9302', { waybill_no: 'WB93020000' }));
    const otherWaybill = await deliver(delivery('9302', { waybill_no: 'WB93029999' }));
    expect(otherWaybill.body).toMatchObject({
      status: 217,
      msg: '创建订单失败',
      err: expect.stringContaining('9302'),
    });
    const usedWaybill = await deliver(delivery('9303', { waybill_no: 'WB93020000' }));
    expect(usedWaybill.body).toMatchObject({
      status: 217,
      msg: '创建订单失败',
      err: expect.stringContaining('WB93020000'),
    });
    expect(sandbox.report().charged).toBe(1);
  });
});

describe('damaijia pinSynchronization', () => {
  it('answers {data: {success, amount}, status: 0} and charges every success', async () => {
    const body = { orderSns: '126446000188', ownerId: '2000064' };
    expect((await sync(body)).body).toEqual({ data: { success: true, amount: 1 }, status: 0 });
    expect((await sync(body)).body).toEqual({ data: { success: true, amount: 1 }, status: 0 });
    expect(sandbox.calls()[0]).toMatchObject({ operation: 'damaijia.sync', orderKey: '126446000188' });
    expect(sandbox.balance('dmj')).toBe(999_998);
  });

  it.each(['orderSns', 'ownerId'])('answers 422 naming %s when missing', async (name) => {
    const body: Record<string, string> = { orderSns: '1', ownerId: '2' };
    delete body[name];
    expect((await sync(body)).body).toMatchObject({ status: 422, err: `${name} 不能为空` });
  });
});

describe('damaijia balance', () => {
  it('runs down to 209 账户余额不足; a replay still succeeds for free', async () => {
    sandbox.setBalance('dmj', 2);
    expect((await deliver(delivery('9401'))).body).toMatchObject({ status: 0 });
    expect((await sync({ orderSns: '9401', ownerId: 'o' })).body).toMatchObject({ status: 0 });
    expect((await deliver(delivery('9402'))).body).toMatchObject({
      status: 209,
      msg: '账户余额不足',
      data: null,
    });
    expect((await sync({ orderSns: '9401', ownerId: 'o' })).body).toMatchObject({ status: 209 });
    expect((await deliver(delivery('9401'))).body).toMatchObject({ status: 0, data: { amount: 0 } });
    expect(sandbox.report().byAccount['dmj']).toMatchObject({ calls: 5, charged: 2, balance: 0 });
  });
});
