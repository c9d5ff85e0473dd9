import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/index.js';
import { classify } from '../../src/outcomes/index.js';
import {
  type AnsweredReply,
  createDamaijiaClient,
  createVvtoolClient,
  RAW_LIMIT_BYTES,
  type UpstreamReply,
} from '../../src/upstreams/index.js';
import { type Answer, type CaptureServer, startCaptureServer } from './capture-server.js';

const TOKEN = 'tok-replies-93b2aa41c7';
const SHIP = { tid: '1', shop_id: 's', out_sid: 'YT1234567', company_code: 'YTO' };
const DELIVERY = { seller_nick: 'n', order_no: 'o1', wp_code: 'YTO', waybill_no: 'YT1234567' };
let server: CaptureServer;

beforeAll(async () => {
  server = await startCaptureServer();
});
afterAll(async () => {
  await server.close();
});

function answered(reply: UpstreamReply): AnsweredReply {
  if (!reply.answered) throw new Error(`expected an answer, got ${reply.failure}: ${reply.message}`);
  return reply;
}

async function vvtool(answer: Answer): Promise<AnsweredReply> {
  server.respond(() => answer);
  const client = createVvtoolClient({ baseUrl: server.baseUrl, timeoutMs: 5_000 });
  return answered(await client.send(new Secret(TOKEN), SHIP));
}

async function damaijia(answer: Answer, operation: 'delivery' | 'sync' = 'delivery'): Promise<AnsweredReply> {
  server.respond(() => answer);
  const client = createDamaijiaClient({ baseUrl: server.baseUrl, timeoutMs: 5_000 });
  return answered(
    operation === 'delivery'
      ? await client.delivery(new Secret(TOKEN), DELIVERY)
      : await client.sync(new Secret(TOKEN), { orderSns: 'o1', ownerId: 'w1' }),
  );
}

describe('vv-tool answers', () => {
  it('reads code, msg and the sum of withholding_money, keeping the body and its text', async () => {
    const body = {
      code: 0,
      msg: '成功',
      msec: 1193,
      time: 1612416107,
      data: [
        { withholding_money: 1, success: true },
        { withholding_money: 2, success: true },
      ],
    };
    const reply = await vvtool({ body });
    expect(reply).toMatchObject({
      answered: true,
      provider: 'vvtool',
      httpStatus: 200,
      code: 0,
      message: '成功',
      charge: 3,
      body,
      raw: JSON.stringify(body),
    });
    expect(reply.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('counts only numeric withholding_money and charges 0 when the answer says nothing', async () => {
    const mixed = await vvtool({
      body: { code: 0, msg: 'ok', data: [{ withholding_money: '5' }, { withholding_money: 2 }, null, {}] },
    });
    expect(mixed.charge).toBe(2);
    const none = await vvtool({ body: { code: 401, msg: '身份凭证无效' } });
    expect(none).toMatchObject({ code: 401, message: '身份凭证无效', charge: 0 });
  });

  it('reads a code from any HTTP status: HTTP 500 with a charge is an answer that charged, and is retried', async () => {
    const reply = await vvtool({
      status: 500,
      body: { code: 0, msg: '成功', data: [{ withholding_money: 1, success: true }] },
    });
    expect(reply).toMatchObject({ httpStatus: 500, code: 0, charge: 1 });
    expect(classify('vvtool', reply)).toMatchObject({ outcome: 'retry', code: 0 });
  });

  it('gives code null for a body that is not the documented JSON, which is retried', async () => {
    const garbage = await vvtool({ body: '<html>502 Bad Gateway</html>', contentType: 'text/html' });
    expect(garbage).toMatchObject({ httpStatus: 200, code: null, body: null, charge: 0, message: '' });
    expect(garbage.raw).toBe('<html>502 Bad Gateway</html>');
    expect(classify('vvtool', garbage)).toMatchObject({ outcome: 'retry', code: null });

    const wrongShape = await vvtool({ body: { code: '0', msg: 'ok' } });
    expect(wrongShape.code).toBeNull();
    expect((await vvtool({ body: [1, 2] })).code).toBeNull();
    expect((await vvtool({ body: '' })).code).toBeNull();
  });

  it('reads JSON behind a UTF-8 byte order mark', async () => {
    const reply = await vvtool({ body: '\uFEFF{"code":0,"msg":"成功"}' });
    expect(reply.code).toBe(0);
  });

  it('cuts raw to 4 KiB on a character boundary but parses the whole body', async () => {
    const msg = '发'.repeat(3_000); // 9,000 bytes of 3-byte characters
    const reply = await vvtool({ body: { code: 614, msg } });
    expect(reply.message).toBe(msg);
    expect(Buffer.byteLength(reply.raw)).toBeLessThanOrEqual(RAW_LIMIT_BYTES);
    expect(Buffer.byteLength(reply.raw)).toBeGreaterThan(RAW_LIMIT_BYTES - 4);
    expect(reply.raw).not.toContain('\uFFFD');
    expect(JSON.stringify({ code: 614, msg }).startsWith(reply.raw)).toBe(true);
  });

  it('scrubs the token when the upstream echoes it back', async () => {
    const reply = await vvtool({
      status: 401,
      body: { code: 401, msg: `身份凭证无效: Bearer ${TOKEN}`, echo: { token: TOKEN } },
    });
    expect(reply.code).toBe(401);
    expect(reply.message).toBe('身份凭证无效: Bearer [redacted]');
    expect(JSON.stringify(reply)).not.toContain(TOKEN);
  });
});

describe('damaijia answers', () => {
  it('reads status and data.amount', async () => {
    const body = { data: { order_no: 'o1', success: true, fahuoTime: '1616478707', amount: 2 }, status: 0 };
    expect(await damaijia({ body })).toMatchObject({
      provider: 'damaijia',
      code: 0,
      charge: 2,
      message: '',
      body,
    });
    expect(await damaijia({ body: { data: { success: true }, status: 0 } }, 'sync')).toMatchObject({
      code: 0,
      charge: 0,
    });
  });

  it('takes the message from err, else msg', async () => {
    expect(await damaijia({ body: { status: 422, err: 'waybill_no 不能为空', msg: 'x' } })).toMatchObject({
      code: 422,
      message: 'waybill_no 不能为空',
    });
    expect(await damaijia({ body: { status: 200, msg: '认证失败' } })).toMatchObject({
      code: 200,
      message: '认证失败',
    });
    expect(await damaijia({ body: { status: 422, err: { waybill_no: ['required'] } } })).toMatchObject({
      message: '{"waybill_no":["required"]}',
    });
  });

  it('gives code null when status is missing or not a number', async () => {
    expect((await damaijia({ body: { code: 0, data: { amount: 1 } } })).code).toBeNull();
    expect((await damaijia({ body: { status: 'ok' } })).code).toBeNull();
    expect((await damaijia({ body: 'not json at all' })).code).toBeNull();
  });

  it('keeps the charge of an HTTP 503 answer and retries it', async () => {
    const reply = await damaijia({ status: 503, body: { status: 0, data: { amount: 1 } } });
    expect(reply).toMatchObject({ httpStatus: 503, code: 0, charge: 1 });
    expect(classify('damaijia', reply, 'damaijia.delivery').outcome).toBe('retry');
  });
});
