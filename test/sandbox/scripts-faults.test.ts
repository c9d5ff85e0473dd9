import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type FaultKind,
  type Sandbox,
  SandboxInputError,
  type ScriptedAnswer,
  startSandbox,
} from '../../src/sandbox/index.js';
import { until } from '../helpers/wait.js';
import { DELIVERY_PATH, delivery, dmjPost, ship, vvRequest, vvSend } from './helpers.js';

const VV = 'vv-token-script';
const DMJ = 'dmj-token-script';
const ALREADY = '物流订单状态不为新建状态,无需发货处理';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({
    accounts: [
      { token: VV, label: 'vv', provider: 'vvtool' },
      { token: DMJ, label: 'dmj', provider: 'damaijia' },
    ],
    ratePerSecond: 1000,
    stallMs: 50,
  });
});
afterAll(() => sandbox.close());
beforeEach(() => sandbox.reset());

/** A call whose answer never comes: resolves with the client's error. */
async function unanswered(request: Promise<Response>): Promise<Error> {
  try {
    const res = await request;
    throw new Error(`expected no answer, got HTTP ${res.status}`);
  } catch (err) {
    return err as Error;
  }
}

describe('scripted answers', () => {
  it('answers 101, 101, then processes for real (the retry story)', async () => {
    sandbox.script('vvtool', '6001', [{ code: 101 }, { code: 101 }]);
    const first = await vvSend(sandbox.url, VV, ship('6001'));
    const second = await vvSend(sandbox.url, VV, ship('6001'));
    const third = await vvSend(sandbox.url, VV, ship('6001'));
    expect(first.body).toMatchObject({ code: 101, msg: '请求超时,请重试', data: [] });
    expect(second.body).toMatchObject({ code: 101 });
    expect(third.body).toMatchObject({ code: 0, data: [{ withholding_money: 1, success: true }] });
    expect(sandbox.calls().map(({ code, processed, charged }) => ({ code, processed, charged }))).toEqual([
      { code: 101, processed: false, charged: 0 },
      { code: 101, processed: false, charged: 0 },
      { code: 0, processed: true, charged: 1 },
    ]);
  });

  it('scripts one order only; other orders are processed', async () => {
    sandbox.script('vvtool', '6002', [{ code: 202 }]);
    expect((await vvSend(sandbox.url, VV, ship('6003'))).body).toMatchObject({ code: 0 });
    expect((await vvSend(sandbox.url, VV, ship('6002'))).body).toMatchObject({
      code: 202,
      msg: '系统错误,请稍后再试',
    });
  });

  it('answers a 614 reason, and charges what the script says', async () => {
    sandbox.script('vvtool', '6004', [{ code: 614, msg: '系统异常', charge: 2 }]);
    const res = await vvSend(sandbox.url, VV, ship('6004'));
    expect(res.body).toMatchObject({
      code: 614,
      msg: '系统异常',
      data: [{ withholding_money: 2, success: false }],
    });
    expect(sandbox.balance('vv')).toBe(999_998);
    expect(sandbox.calls()[0]).toMatchObject({ charged: 2, processed: false });
  });

  it('processes for real on code 0, at the scripted charge, and on pass', async () => {
    sandbox.script('vvtool', '6005', [{ code: 0, charge: 5 }]);
    sandbox.script('vvtool', '6006', [{ pass: true }]);
    expect((await vvSend(sandbox.url, VV, ship('6005'))).body).toMatchObject({
      data: [{ withholding_money: 5 }],
    });
    expect((await vvSend(sandbox.url, VV, ship('6006'))).body).toMatchObject({
      data: [{ withholding_money: 1 }],
    });
    // Real processing: the book now knows both trades.
    expect((await vvSend(sandbox.url, VV, ship('6005'))).body).toMatchObject({ code: 614, msg: ALREADY });
    expect(sandbox.balance('vv')).toBe(999_994);
  });

  it('scripts damaijia statuses with their err, by order_no and by orderSns', async () => {
    sandbox.script('damaijia', '6101', [{ code: 217, err: 'scripted reason' }, { code: 1003 }]);
    sandbox.script('damaijia', '6102', [{ code: 209 }]);
    const first = await dmjPost(sandbox.url, DELIVERY_PATH, DMJ, delivery('6101'));
    expect(first.body).toEqual({ data: null, status: 217, msg: '创建订单失败', err: 'scripted reason' });
    const second = await dmjPost(sandbox.url, DELIVERY_PATH, DMJ, delivery('6101'));
    expect(second.body).toMatchObject({ status: 1003, msg: '用户不存在' });
    const sync = await dmjPost(sandbox.url, '/vv/external/pinSynchronization', DMJ, {
      orderSns: '6102',
      ownerId: 'o',
    });
    expect(sync.body).toMatchObject({ status: 209, msg: '账户余额不足' });
    expect((await dmjPost(sandbox.url, DELIVERY_PATH, DMJ, delivery('6101'))).body).toMatchObject({
      status: 0,
    });
  });

  it('answers a code neither document has (for the unknown-code path)', async () => {
    sandbox.script('vvtool', '6007', [{ code: 999 }]);
    expect((await vvSend(sandbox.url, VV, ship('6007'))).body).toMatchObject({ code: 999 });
  });

  it('refuses a bad script with SandboxInputError', () => {
    const bad: unknown[] = [
      [{ fault: 'http429', when: 'after' }],
      [{ fault: 'meteor' }],
      [{ code: 1.5 }],
      [{ code: 0, charge: -1 }],
      [{ pass: false }],
      'nope',
    ];
    for (const answers of bad) {
      expect(() => sandbox.script('vvtool', '1', answers as ScriptedAnswer[])).toThrow(SandboxInputError);
    }
    expect(() => sandbox.script('other' as 'vvtool', '1', [])).toThrow(SandboxInputError);
  });
});

describe('transport faults (scripted)', () => {
  it('http500: HTTP 500 plain text, not processed', async () => {
    sandbox.script('vvtool', '7001', [{ fault: 'http500' }]);
    const res = await vvSend(sandbox.url, VV, ship('7001'));
    expect(res.status).toBe(500);
    expect(res.body).toBeUndefined();
    expect(sandbox.calls()[0]).toMatchObject({
      httpStatus: 500,
      fault: 'http500',
      processed: false,
      charged: 0,
    });
    expect((await vvSend(sandbox.url, VV, ship('7001'))).body).toMatchObject({ code: 0 });
  });

  it("http429: the rate answer in each provider's shape, not processed", async () => {
    sandbox.script('vvtool', '7002', [{ fault: 'http429' }]);
    sandbox.script('damaijia', '7002', [{ fault: 'http429' }]);
    const vv = await vvSend(sandbox.url, VV, ship('7002'));
    const dmj = await dmjPost(sandbox.url, DELIVERY_PATH, DMJ, delivery('7002'));
    expect([vv.status, vv.body]).toEqual([429, { code: 429, msg: 'too many requests' }]);
    expect([dmj.status, dmj.body]).toEqual([429, { status: 429, err: 'too many requests' }]);
    expect(sandbox.report().violations).toEqual([]);
    expect(sandbox.report().charged).toBe(0);
  });

  it('garbage: HTTP 200 with a body that is not JSON, not processed', async () => {
    sandbox.script('damaijia', '7003', [{ fault: 'garbage' }]);
    const res = await dmjPost(sandbox.url, DELIVERY_PATH, DMJ, delivery('7003'));
    expect(res.status).toBe(200);
    expect(res.body).toBeUndefined();
    expect(res.text).toContain('<html>');
    expect(sandbox.calls()[0]).toMatchObject({ fault: 'garbage', processed: false, charged: 0 });
  });

  it('reset before: the socket dies unanswered and nothing happened', async () => {
    sandbox.script('vvtool', '7004', [{ fault: 'reset' }]);
    const err = await unanswered(vvRequest(sandbox.url, VV, ship('7004')));
    expect(err.message).toMatch(/fetch failed/);
    expect(sandbox.calls()[0]).toMatchObject({
      httpStatus: null,
      fault: 'reset',
      processed: false,
      charged: 0,
    });
    expect((await vvSend(sandbox.url, VV, ship('7004'))).body).toMatchObject({ code: 0 });
  });

  it('reset after: processed and charged, unanswered; the retry finds the trade shipped', async () => {
    sandbox.script('vvtool', '7005', [{ fault: 'reset', when: 'after' }]);
    await unanswered(vvRequest(sandbox.url, VV, ship('7005')));
    expect(sandbox.calls()[0]).toMatchObject({
      httpStatus: null,
      fault: 'reset',
      processed: true,
      charged: 1,
      code: 0,
    });
    expect(sandbox.balance('vv')).toBe(999_999);
    expect((await vvSend(sandbox.url, VV, ship('7005'))).body).toMatchObject({ code: 614, msg: ALREADY });
  });

  it('stall after on damaijia: charged, then the socket is held and destroyed; the retry is a free replay', async () => {
    sandbox.script('damaijia', '7006', [{ fault: 'stall', when: 'after' }]);
    const request = fetch(`${sandbox.url}${DELIVERY_PATH}`, {
      method: 'POST',
      headers: { authorization: DMJ, 'content-type': 'application/json' },
      body: JSON.stringify(delivery('7006')),
    });
    await unanswered(request);
    expect(sandbox.calls()[0]).toMatchObject({
      httpStatus: null,
      fault: 'stall',
      processed: true,
      charged: 1,
    });
    const retry = await dmjPost(sandbox.url, DELIVERY_PATH, DMJ, delivery('7006'));
    expect(retry.body).toMatchObject({ status: 0, data: { amount: 0 } });
  });

  it('stall before: held, destroyed, not processed', async () => {
    sandbox.script('vvtool', '7007', [{ fault: 'stall' }]);
    await unanswered(vvRequest(sandbox.url, VV, ship('7007')));
    expect(sandbox.calls()[0]).toMatchObject({
      httpStatus: null,
      fault: 'stall',
      processed: false,
      charged: 0,
    });
  });
});

describe('random faults', () => {
  /** Sends `n` calls one after another and returns what each got: the fault kind or 'ok'. */
  async function pattern(n: number, first: number): Promise<string[]> {
    for (let i = 0; i < n; i++) {
      await vvRequest(sandbox.url, VV, ship(String(first + i))).then(
        (res) => res.text(),
        () => 'unanswered',
      );
    }
    return sandbox.calls().map((call) => call.fault ?? 'ok');
  }

  it('hits the same calls with the same kinds for the same seed', async () => {
    const kinds: FaultKind[] = ['http500', 'garbage', 'http429'];
    sandbox.setFaults({ rate: 0.5, kinds, seed: 42 });
    const first = await pattern(30, 8000);
    sandbox.reset();
    sandbox.setFaults({ rate: 0.5, kinds, seed: 42 });
    expect(await pattern(30, 8000)).toEqual(first);
    expect(first).toContain('ok');
    expect(first.some((kind) => kind !== 'ok')).toBe(true);
    // Nothing faulted was processed; everything else was.
    for (const call of sandbox.calls()) expect(call.processed).toBe(call.fault === null);
  });

  it("rate 1 faults every call, when 'random' mixes before and after, null clears", async () => {
    sandbox.setFaults({ rate: 1, kinds: ['reset'], when: 'random', seed: 3 });
    await pattern(16, 8100);
    const processed = sandbox.calls().map((call) => call.processed);
    expect(processed).toContain(true);
    expect(processed).toContain(false);
    expect(sandbox.calls().every((call) => call.fault === 'reset' && call.httpStatus === null)).toBe(true);
    sandbox.setFaults(null);
    expect((await vvSend(sandbox.url, VV, ship('8200'))).body).toMatchObject({ code: 0 });
  });

  it('applies after to server errors too (processed, charged, then a 5xx), never to 429', async () => {
    sandbox.setFaults({ rate: 1, kinds: ['http502'], when: 'after' });
    expect((await vvSend(sandbox.url, VV, ship('8300'))).status).toBe(502);
    expect(sandbox.calls()[0]).toMatchObject({
      processed: true,
      charged: 1,
      httpStatus: 502,
      fault: 'http502',
    });
    sandbox.setFaults({ rate: 1, kinds: ['http429'], when: 'after' });
    expect((await vvSend(sandbox.url, VV, ship('8301'))).status).toBe(429);
    expect(sandbox.calls()[1]).toMatchObject({ processed: false, charged: 0 });
  });

  it('lets a scripted answer win over a random fault', async () => {
    sandbox.setFaults({ rate: 1, kinds: ['http500'] });
    sandbox.script('vvtool', '8400', [{ pass: true }]);
    expect((await vvSend(sandbox.url, VV, ship('8400'))).body).toMatchObject({ code: 0 });
  });
});

describe('close()', () => {
  it('destroys a stalled socket instead of waiting for it', async () => {
    const held = await startSandbox({ accounts: [{ token: VV, label: 'vv' }], stallMs: 600_000 });
    held.script('vvtool', '9001', [{ fault: 'stall' }]);
    const request = unanswered(vvRequest(held.url, VV, ship('9001')));
    await until('the stall to begin', () => held.calls().length === 1);
    await held.close();
    expect((await request).message).toMatch(/fetch failed/);
    // Closing twice is fine.
    await held.close();
  });
});
