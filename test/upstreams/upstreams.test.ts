import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, Secret } from '../../src/config/index.js';
import { createUpstreams, type Operation, type Upstreams } from '../../src/upstreams/index.js';
import { type CaptureServer, startCaptureServer } from './capture-server.js';

const VV_TOKEN = 'tok-vv-7a1b2c3d4e';
const DMJ_TOKEN = 'tok-dmj-9f8e7d6c5b';
const vvAccount: Account = { id: 'vv-1', provider: 'vvtool', token: new Secret(VV_TOKEN), ratePerSecond: 10 };
const dmjAccount: Account = {
  id: 'dmj-1',
  provider: 'damaijia',
  token: new Secret(DMJ_TOKEN),
  ratePerSecond: 10,
};
const SHIP = { tid: '1', shop_id: 's', out_sid: 'YT1234567', company_code: 'YTO' };
const DELIVERY = { seller_nick: 'n', order_no: 'o1', wp_code: 'YTO', waybill_no: 'YT1234567' };
const SYNC = { orderSns: 'o1', ownerId: 'w1' };

let vvtool: CaptureServer;
let damaijia: CaptureServer;
let upstreams: Upstreams;

beforeAll(async () => {
  vvtool = await startCaptureServer(() => ({ body: { code: 0, msg: '成功' } }));
  damaijia = await startCaptureServer(() => ({ body: { status: 0, data: { success: true } } }));
  upstreams = createUpstreams({
    vvtoolBaseUrl: vvtool.baseUrl,
    damaijiaBaseUrl: damaijia.baseUrl,
    timeoutMs: 5_000,
  });
});
afterAll(async () => {
  await Promise.all([vvtool.close(), damaijia.close()]);
});

describe('createUpstreams routes by operation', () => {
  it('sends vvtool.send to vv-tool with the account token', async () => {
    const reply = await upstreams.call(vvAccount, 'vvtool.send', SHIP);
    expect(reply).toMatchObject({ answered: true, provider: 'vvtool', code: 0 });
    expect(vvtool.requests.at(-1)).toMatchObject({
      path: '/tool/erps/send',
      headers: { authorization: `Bearer ${VV_TOKEN}` },
    });
  });

  it('sends damaijia.delivery and damaijia.sync to damaijia', async () => {
    const before = vvtool.requests.length;
    expect(await upstreams.call(dmjAccount, 'damaijia.delivery', DELIVERY)).toMatchObject({
      provider: 'damaijia',
      code: 0,
    });
    expect(await upstreams.call(dmjAccount, 'damaijia.sync', SYNC)).toMatchObject({ provider: 'damaijia' });
    expect(damaijia.requests.slice(-2).map((r) => [r.path, r.headers.authorization])).toEqual([
      ['/vv/external/taoStoreBackstageDelivery', DMJ_TOKEN],
      ['/vv/external/pinSynchronization', DMJ_TOKEN],
    ]);
    expect(vvtool.requests.length).toBe(before);
  });

  it('rejects with a TypeError an operation of the other provider, calling nobody, naming no token', async () => {
    const calls = vvtool.requests.length + damaijia.requests.length;
    const errors: unknown[] = [];
    for (const [account, operation, request] of [
      [vvAccount, 'damaijia.delivery', DELIVERY],
      [dmjAccount, 'vvtool.send', SHIP],
      [vvAccount, 'damaijia.sync', SYNC],
      [dmjAccount, 'nope.op' as Operation, SYNC],
    ] as const) {
      const error = await upstreams.call(account, operation, request).then(
        () => null,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(TypeError);
      errors.push(error);
    }
    expect(String(errors[0])).toContain(
      'damaijia.delivery needs a damaijia account; account "vv-1" is vvtool',
    );
    for (const error of errors) {
      const printed = `${inspect(error, { depth: 10, showHidden: true })} ${JSON.stringify(error)}`;
      expect(printed).not.toContain(VV_TOKEN);
      expect(printed).not.toContain(DMJ_TOKEN);
    }
    expect(vvtool.requests.length + damaijia.requests.length).toBe(calls);
  });
});
