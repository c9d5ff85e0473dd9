import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/index.js';
import { parseFormBody } from '../../src/sandbox/form-body.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { createDamaijiaClient, createVvtoolClient } from '../../src/upstreams/index.js';
import { encodeForm } from '../../src/upstreams/transport.js';
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

describe('the multipart body the transport encodes', () => {
  it('is read back field for field by the sandbox and by the platform (undici) parser', async () => {
    // Names as the client sends them (plain words); values anything a job may carry.
    const name = fc.stringMatching(/^[a-z_]{1,12}$/);
    const value = fc.string({ maxLength: 40, unit: 'grapheme' });
    await fc.assert(
      fc.asyncProperty(fc.dictionary(name, value, { maxKeys: 10 }), async (fields) => {
        const { contentType, body } = encodeForm(fields);
        // Line breaks go as CRLF, as fetch sends a FormData.
        const expected = Object.fromEntries(
          Object.entries(fields).map(([k, v]) => [k, v.replace(/\r\n|\r|\n/g, '\r\n')]),
        );
        expect(parseFormBody(contentType, body)).toEqual(expected);
        const platform = await new Response(body, { headers: { 'content-type': contentType } }).formData();
        expect(Object.fromEntries(platform)).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('escapes quotes and line breaks in names as FormData does', () => {
    const { contentType, body } = encodeForm({ 'a"b': '1', 'c\nd': '2' });
    expect(body.toString()).toContain('name="a%22b"');
    expect(parseFormBody(contentType, body)).toEqual({ 'a"b': '1', 'c\r\nd': '2' });
  });

  it('is what the sandbox records of a vv-tool send', async () => {
    const VV = 'tok-wire-sandbox-3b9d';
    const sandbox = await startSandbox({ accounts: [{ token: VV, label: 'vv', provider: 'vvtool' }] });
    try {
      const client = createVvtoolClient({ baseUrl: sandbox.url, timeoutMs: 5_000 });
      const request = {
        tid: '4012345678901234567',
        shop_id: '1234567',
        out_sid: 'YT9876543210',
        company_code: 'YTO',
        sub_tid: '11,12',
        is_split: 1,
        feature: 'identCode=tid1:识别码 1,识别码 2|tid2:"x"',
      } as const;
      expect(await client.send(new Secret(VV), request)).toMatchObject({
        answered: true,
        code: 0,
        charge: 1,
      });
      expect(sandbox.calls()).toHaveLength(1);
      expect(sandbox.calls()[0]!.fields).toEqual({ ...request, is_split: '1' });
    } finally {
      await sandbox.close();
    }
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
