import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/index.js';
import { createDamaijiaClient, createVvtoolClient } from '../../src/upstreams/index.js';
import { type CaptureServer, formFields, startCaptureServer } from './capture-server.js';

const TOKEN = 'tok-wire-5f1c0e9a7b3d';
let server: CaptureServer;

beforeAll(async () => {
  server = await startCaptureServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.respond(() => ({ body: { code: 0, status: 0 } }));
});

function lastRequest() {
  const request = server.requests.at(-1);
  if (!request) throw new Error('the server saw no request');
  return request;
}

describe('vv-tool send on the wire', () => {
  it('POSTs multipart/form-data to /tool/erps/send with a Bearer token and only the set fields', async () => {
    const client = createVvtoolClient({ baseUrl: server.baseUrl, timeoutMs: 5_000 });
    await client.send(new Secret(TOKEN), {
      tid: '4012345678901234567',
      shop_id: '1234567',
      out_sid: 'YT9876543210',
      company_code: 'YTO',
    });

    const request = lastRequest();
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/tool/erps/send');
    expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(await formFields(request)).toEqual({
      tid: '4012345678901234567',
      shop_id: '1234567',
      out_sid: 'YT9876543210',
      company_code: 'YTO',
    });
  });

  it('sends every optional field that is set, numbers as their decimal text', async () => {
    const client = createVvtoolClient({ baseUrl: `${server.baseUrl}/`, timeoutMs: 5_000 });
    await client.send(new Secret(TOKEN), {
      tid: '123',
      shop_id: 's1',
      out_sid: 'SF1234567',
      company_code: 'SF',
      sub_tid: '11,12',
      is_split: 1,
      sender_id: '77',
      cancel_id: '78',
      feature: 'identCode=tid:aaa,bbb',
      vvtype: 2,
    });

    const request = lastRequest();
    // A trailing slash on the base URL does not double up.
    expect(request.path).toBe('/tool/erps/send');
    expect(await formFields(request)).toEqual({
      tid: '123',
      shop_id: 's1',
      out_sid: 'SF1234567',
      company_code: 'SF',
      sub_tid: '11,12',
      is_split: '1',
      sender_id: '77',
      cancel_id: '78',
      feature: 'identCode=tid:aaa,bbb',
      vvtype: '2',
    });
  });

  it('leaves out optional fields that are undefined and never sends fields outside the document', async () => {
    const client = createVvtoolClient({ baseUrl: server.baseUrl, timeoutMs: 5_000 });
    const request = {
      tid: '123',
      shop_id: 's1',
      out_sid: 'SF1234567',
      company_code: 'SF',
      sub_tid: undefined,
      is_split: 0,
      account: 'acct-1',
    } as const;
    await client.send(new Secret(TOKEN), request);

    expect(await formFields(lastRequest())).toEqual({
      tid: '123',
      shop_id: 's1',
      out_sid: 'SF1234567',
      company_code: 'SF',
      is_split: '0',
    });
  });
});

describe('damaijia on the wire', () => {
  it('delivery POSTs JSON with the bare token and both waybill keys, and nothing else', async () => {
    const client = createDamaijiaClient({ baseUrl: server.baseUrl, timeoutMs: 5_000 });
    await client.delivery(new Secret(TOKEN), {
      seller_nick: '测试店',
      order_no: '1264460000188',
      wp_code: 'YTO',
      waybill_no: 'YT9876543210',
    });

    const request = lastRequest();
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/vv/external/taoStoreBackstageDelivery');
    expect(request.headers.authorization).toBe(TOKEN);
    expect(request.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request.body.toString('utf8'))).toEqual({
      seller_nick: '测试店',
      order_no: '1264460000188',
      wp_code: 'YTO',
      waybill_no: 'YT9876543210',
      waybillNo: 'YT9876543210',
    });
  });

  it('sync POSTs JSON {orderSns, ownerId} with the bare token, and nothing else', async () => {
    const client = createDamaijiaClient({ baseUrl: server.baseUrl, timeoutMs: 5_000 });
    const request = { orderSns: '126446000188', ownerId: '2000064', extra: 'not sent' };
    await client.sync(new Secret(TOKEN), request);

    const captured = lastRequest();
    expect(captured.path).toBe('/vv/external/pinSynchronization');
    expect(captured.headers.authorization).toBe(TOKEN);
    expect(captured.headers['content-type']).toBe('application/json');
    expect(JSON.parse(captured.body.toString('utf8'))).toEqual({
      orderSns: '126446000188',
      ownerId: '2000064',
    });
  });

  it('keeps a path in the base URL (a gateway mount)', async () => {
    const client = createDamaijiaClient({ baseUrl: `${server.baseUrl}/gw/damaijia`, timeoutMs: 5_000 });
    await client.sync(new Secret(TOKEN), { orderSns: '1', ownerId: '2' });
    expect(lastRequest().path).toBe('/gw/damaijia/vv/external/pinSynchronization');
  });
});

describe('configuration', () => {
  it('refuses a base URL that is not a URL when the client is made, without calling anyone', () => {
    const before = server.requests.length;
    expect(() => createVvtoolClient({ baseUrl: 'not a url', timeoutMs: 1_000 })).toThrow(TypeError);
    expect(() => createDamaijiaClient({ baseUrl: '', timeoutMs: 1_000 })).toThrow(TypeError);
    expect(server.requests.length).toBe(before);
  });
});
