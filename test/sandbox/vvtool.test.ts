import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { ship, VV_PATH, vvSend } from './helpers.js';

const VV = 'vv-token-1111';
const DMJ = 'dmj-token-2222';
const BOTH = 'both-token-3333';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({
    accounts: [
      { token: VV, label: 'vv', provider: 'vvtool' },
      { token: DMJ, label: 'dmj', provider: 'damaijia' },
      { token: BOTH, label: 'both' },
    ],
    ratePerSecond: 1000,
  });
});
afterAll(() => sandbox.close());
beforeEach(() => sandbox.reset());

describe('vv-tool POST /tool/erps/send: wire format', () => {
  it('ships with multipart fields and answers the documented success body', async () => {
    const before = Date.now();
    const res = await vvSend(sandbox.url, VV, ship('1001'));
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^application\/json/);
    expect(Object.keys(res.body!)).toEqual(['code', 'msg', 'msec', 'time', 'data']);
    expect(res.body).toMatchObject({ code: 0, msg: '成功', data: [{ withholding_money: 1, success: true }] });
    expect(Number.isInteger(res.body!['msec'])).toBe(true);
    expect(res.body!['time']).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    expect(sandbox.balance('vv')).toBe(999_999);
  });

  it('also accepts application/x-www-form-urlencoded', async () => {
    const res = await fetch(`${sandbox.url}${VV_PATH}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${VV}` },
      body: new URLSearchParams(ship('1002')),
    });
    expect(await res.json()).toMatchObject({ code: 0 });
  });

  it('records the call: arrival time, label, order key and fields, never the token', async () => {
    const before = performance.timeOrigin + performance.now();
    await vvSend(sandbox.url, VV, ship('1003', { sub_tid: '11,12', is_split: '1' }));
    const [call] = sandbox.calls();
    expect(call).toMatchObject({
      seq: 1,
      provider: 'vvtool',
      operation: 'vvtool.send',
      account: 'vv',
      orderKey: '1003',
      fields: ship('1003', { sub_tid: '11,12', is_split: '1' }),
      httpStatus: 200,
      code: 0,
      msg: '成功',
      charged: 1,
      fault: null,
      processed: true,
    });
    expect(call!.at).toBeGreaterThanOrEqual(before);
    expect(JSON.stringify(sandbox.calls())).not.toContain(VV);
  });
});

describe('vv-tool auth: Authorization: Bearer <token>', () => {
  it.each([
    ['no header', null, undefined],
    ['an unknown token', 'nope', undefined],
    ['the token without "Bearer"', null, VV],
    ['a damaijia-only token', DMJ, undefined],
    ['an empty Bearer', null, 'Bearer '],
  ])('refuses %s with code 401, HTTP 200, no charge', async (_what, token, authorization) => {
    const res = await vvSend(
      sandbox.url,
      token,
      ship('2001'),
      authorization === undefined ? {} : { authorization },
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ code: 401, msg: '身份凭证无效', data: [] });
    expect(sandbox.calls()[0]).toMatchObject({ account: null, code: 401, charged: 0, processed: false });
  });

  it('accepts a token configured for both providers', async () => {
    const res = await vvSend(sandbox.url, BOTH, ship('2002'));
    expect(res.body).toMatchObject({ code: 0 });
    expect(sandbox.balance('both')).toBe(999_999);
  });
});

describe('vv-tool codes', () => {
  it('answers 404 in the body for a wrong path or method under /tool/', async () => {
    const wrongPath = await vvSend(sandbox.url, VV, ship('3001'), { path: '/tool/erps/sendx' });
    const wrongMethod = await vvSend(sandbox.url, VV, {}, { method: 'GET' });
    for (const res of [wrongPath, wrongMethod]) {
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ code: 404, msg: '请求路径或请求方式错误' });
    }
    expect(sandbox.calls().map((call) => call.operation)).toEqual(['unknown', 'unknown']);
    expect(sandbox.report().charged).toBe(0);
  });

  it.each(['tid', 'shop_id', 'out_sid', 'company_code'])(
    'answers 100 when %s is missing or blank',
    async (name) => {
      const missing = ship('3002');
      delete missing[name];
      expect((await vvSend(sandbox.url, VV, missing)).body).toMatchObject({ code: 100, msg: '请求参数错误' });
      expect((await vvSend(sandbox.url, VV, ship('3002', { [name]: '  ' }))).body).toMatchObject({
        code: 100,
      });
    },
  );

  it('answers 100 for a tid that is not digits, a bad is_split, vvtype or sub_tid, or a JSON body', async () => {
    for (const fields of [
      ship('12a'),
      ship('3003', { is_split: '2', sub_tid: '1' }),
      ship('3003', { vvtype: '3' }),
      ship('3003', { is_split: '1', sub_tid: '1,,2' }),
    ]) {
      expect((await vvSend(sandbox.url, VV, fields)).body).toMatchObject({ code: 100, msg: '请求参数错误' });
    }
    const json = await fetch(`${sandbox.url}${VV_PATH}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${VV}`, 'content-type': 'application/json' },
      body: JSON.stringify(ship('3003')),
    });
    expect(await json.json()).toMatchObject({ code: 100 });
    expect(sandbox.report().charged).toBe(0);
  });

  it('answers 100 for a multipart body that does not match its boundary', async () => {
    const res = await fetch(`${sandbox.url}${VV_PATH}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${VV}`, 'content-type': 'multipart/form-data; boundary=abc' },
      body: '--xyz\r\nContent-Disposition: form-data; name="tid"\r\n\r\n1\r\n--xyz--\r\n',
    });
    expect(await res.json()).toMatchObject({ code: 100 });
  });

  it('answers 614 when is_split and sub_tid are not given together', async () => {
    for (const extra of [{ is_split: '1' }, { sub_tid: '1,2' }] as Record<string, string>[]) {
      const res = await vvSend(sandbox.url, VV, ship('3004', extra));
      expect(res.body).toMatchObject({ code: 614, msg: '拆单标记 和子订单列表两者必须都填或者都不填' });
    }
  });
});

describe('vv-tool order book', () => {
  const ALREADY = '物流订单状态不为新建状态,无需发货处理';

  it('ships a trade once: a repeat (any waybill) is 614 already shipped, not charged', async () => {
    expect((await vvSend(sandbox.url, VV, ship('4001'))).body).toMatchObject({ code: 0 });
    expect((await vvSend(sandbox.url, VV, ship('4001'))).body).toMatchObject({
      code: 614,
      msg: ALREADY,
      data: [],
    });
    const other = ship('4001', { out_sid: 'ZT99990000' });
    expect((await vvSend(sandbox.url, VV, other)).body).toMatchObject({ code: 614, msg: ALREADY });
    expect(sandbox.calls().map((call) => call.charged)).toEqual([1, 0, 0]);
    expect(sandbox.balance('vv')).toBe(999_999);
  });

  it('refuses a waybill already used by another trade', async () => {
    await vvSend(sandbox.url, VV, ship('4002', { out_sid: 'SHARED0001' }));
    const res = await vvSend(sandbox.url, VV, ship('4003', { out_sid: 'SHARED0001' }));
    expect(res.body).toMatchObject({ code: 614, msg: '您填写的运单号已被使用,不允许用此物流运单号发货' });
    // The trade itself is still new: with its own waybill it ships.
    expect((await vvSend(sandbox.url, VV, ship('4003'))).body).toMatchObject({ code: 0 });
  });

  it('ships a split trade sub-order by sub-order, each once', async () => {
    const split = (subTid: string, outSid: string) =>
      ship('4004', { is_split: '1', sub_tid: subTid, out_sid: outSid });
    expect((await vvSend(sandbox.url, VV, split('1,2', 'PK00000001'))).body).toMatchObject({ code: 0 });
    // Another package of the same trade, and the same waybill for more of its sub-orders: both fine.
    expect((await vvSend(sandbox.url, VV, split('3', 'PK00000002'))).body).toMatchObject({ code: 0 });
    expect((await vvSend(sandbox.url, VV, split('4', 'PK00000001'))).body).toMatchObject({ code: 0 });
    expect((await vvSend(sandbox.url, VV, split('2,5', 'PK00000003'))).body).toMatchObject({
      code: 614,
      msg: ALREADY,
    });
    expect((await vvSend(sandbox.url, VV, ship('4004'))).body).toMatchObject({
      code: 614,
      msg: '订单已拆单,请走拆单逻辑',
    });
    // 5 was refused with 2 above: nothing of that call shipped.
    expect((await vvSend(sandbox.url, VV, split('5', 'PK00000003'))).body).toMatchObject({ code: 0 });
    expect(sandbox.report().byAccount['vv']!.charged).toBe(4);
  });

  it('refuses a split shipment of a trade shipped whole', async () => {
    await vvSend(sandbox.url, VV, ship('4005'));
    const res = await vvSend(
      sandbox.url,
      VV,
      ship('4005', { is_split: '1', sub_tid: '1', out_sid: 'PK00000009' }),
    );
    expect(res.body).toMatchObject({ code: 614, msg: ALREADY });
  });
});

describe('vv-tool balance', () => {
  it('runs the balance down, then answers 204 without charging; only code 0 charges', async () => {
    sandbox.setBalance('vv', 2);
    expect((await vvSend(sandbox.url, VV, ship('5001'))).body).toMatchObject({ code: 0 });
    expect((await vvSend(sandbox.url, VV, ship('5001'))).body).toMatchObject({ code: 614 });
    expect((await vvSend(sandbox.url, VV, ship('5002'))).body).toMatchObject({ code: 0 });
    const res = await vvSend(sandbox.url, VV, ship('5003'));
    expect(res.body).toMatchObject({
      code: 204,
      msg: '请求异常:API 调用次数不足,请前往网站兑换次数。',
      data: [],
    });
    expect(sandbox.balance('vv')).toBe(0);
    expect(sandbox.report().byAccount['vv']).toMatchObject({ calls: 4, charged: 2, balance: 0 });
    // Topped up, the refused trade ships: the 204 did not touch the order book.
    sandbox.setBalance('vv', 10);
    expect((await vvSend(sandbox.url, VV, ship('5003'))).body).toMatchObject({ code: 0 });
  });
});
