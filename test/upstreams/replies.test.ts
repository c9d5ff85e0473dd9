import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/index.js';
import { classify } from '../../src/outcomes/index.js';
import {
  type AnsweredReply,
  BODY_LIMIT_BYTES,
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

  it('charges 0 when the answer says nothing', async () => {
    const none = await vvtool({ body: { code: 401, msg: '身份凭证无效' } });
    expect(none).toMatchObject({ code: 401, message: '身份凭证无效', charge: 0, chargeKnown: true });
    const empty = await vvtool({ body: { code: 0, msg: 'ok', data: [null, {}, { success: true }] } });
    expect(empty).toMatchObject({ charge: 0, chargeKnown: true });
  });

  it('reads a code from any HTTP status; HTTP 500 cannot say its charge, whatever its body says, and is retried', async () => {
    const reply = await vvtool({
      status: 500,
      body: { code: 0, msg: '成功', data: [{ withholding_money: 1, success: true }] },
    });
    expect(reply).toMatchObject({ httpStatus: 500, code: 0, charge: 0, chargeKnown: false });
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

  it('scrubs the token echoed inside JSON strings too, escaped as PHP escapes "/" and non-ASCII', async () => {
    const token = 'tok/r3pl+ies==é';
    server.respond(() => ({
      status: 401,
      body: '{"code":401,"msg":"bad token tok\\/r3pl+ies==\\u00e9","echo":"tok/r3pl+ies==\\u00e9"}',
    }));
    const client = createVvtoolClient({ baseUrl: server.baseUrl, timeoutMs: 5_000 });
    const reply = answered(await client.send(new Secret(token), SHIP));
    expect(reply.message).toBe('bad token [redacted]');
    expect(JSON.stringify(reply)).not.toContain('r3pl+ies');
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

  it('keeps the charge of an HTTP 503 answer (a refusal: known) and retries it', async () => {
    const reply = await damaijia({ status: 503, body: { status: 0, data: { amount: 1 } } });
    expect(reply).toMatchObject({ httpStatus: 503, code: 0, charge: 1, chargeKnown: true });
    expect(classify('damaijia', reply, 'damaijia.delivery').outcome).toBe('retry');
  });
});

describe('answers that cannot say their charge', () => {
  const charged = { code: 0, msg: '成功', data: [{ withholding_money: 1, success: true }] };

  it.each([500, 502, 504, 520, 524])(
    'HTTP %i: unknown, even with a documented body; retried',
    async (status) => {
      for (const body of [charged, 'Bad Gateway', { code: 101, msg: '超时' }]) {
        const reply = await vvtool({ status, body });
        expect(reply).toMatchObject({ httpStatus: status, chargeKnown: false, charge: 0 });
        expect(classify('vvtool', reply).outcome).toBe('retry');
      }
      const dm = await damaijia({ status, body: { status: 0, data: { amount: 1 } } });
      expect(dm).toMatchObject({ chargeKnown: false, charge: 0 });
    },
  );

  it.each([429, 503, 400, 401, 404, 501])(
    'HTTP %i refuses the call: known, and 0 unless the body says more',
    async (status) => {
      const bare = await vvtool({ status, body: 'refused' });
      expect(bare).toMatchObject({ httpStatus: status, chargeKnown: true, charge: 0 });
      const documented = await damaijia({ status, body: { status: 200, msg: '认证失败', data: null } });
      expect(documented).toMatchObject({ chargeKnown: true, charge: 0 });
    },
  );

  it("a 2xx whose body is not the document's JSON: unknown (it may have been processed)", async () => {
    for (const body of ['<html>oops</html>', '', '[1,2]', '{"code":"0","data":[{"withholding_money":1}]}']) {
      const reply = await vvtool({ status: 200, body });
      expect(reply).toMatchObject({ code: null, chargeKnown: false, charge: 0 });
      expect(classify('vvtool', reply).outcome).toBe('retry');
    }
    expect(await damaijia({ status: 201, body: { code: 0, data: { amount: 1 } } })).toMatchObject({
      code: null,
      chargeKnown: false,
    });
  });

  it('an answer longer than BODY_LIMIT_BYTES is not read on: unreadable, charge unknown, its status kept', async () => {
    // Documented JSON up front, so that reading it whole would find a charge: only the limit stops that.
    const long = `{"code":0,"msg":"成功","data":[{"withholding_money":1}],"pad":"${'x'.repeat(BODY_LIMIT_BYTES)}"}`;
    for (const status of [200, 400]) {
      const reply = await vvtool({ status, body: long });
      expect(reply).toMatchObject({ httpStatus: status, code: null, charge: 0 });
      expect(reply.raw).toBe(`[answer longer than ${BODY_LIMIT_BYTES} bytes: not read]`);
      expect(reply.chargeKnown).toBe(status !== 200);
    }
    // A body right at the limit is read whole.
    const fits = '{"code":0,"msg":"成功","data":[{"withholding_money":1}],"pad":"';
    const atLimit = `${fits}${'x'.repeat(BODY_LIMIT_BYTES - Buffer.byteLength(fits) - 2)}"}`;
    expect(await vvtool({ body: atLimit })).toMatchObject({ code: 0, charge: 1, chargeKnown: true });
  });

  // Written as text: JSON.stringify cannot write the number 1e999 (Infinity once parsed).
  it.each([
    ['negative', '-1'],
    ['past the largest number', '1e999'],
    ['a string', '"5"'],
    ['null', 'null'],
    ['an object', '{"yuan":1}'],
  ])('a charge field that is %s: unknown, not a number passed through', async (_what, value) => {
    const vv = await vvtool({
      body: `{"code":0,"msg":"成功","data":[{"withholding_money":1},{"withholding_money":${value}}]}`,
    });
    expect(vv).toMatchObject({ code: 0, chargeKnown: false, charge: 0 });
    const lone = await vvtool({ body: `{"code":0,"msg":"成功","data":{"withholding_money":${value}}}` });
    expect(lone).toMatchObject({ code: 0, chargeKnown: false, charge: 0 });
    const dm = await damaijia({ body: `{"status":0,"data":{"success":true,"amount":${value}}}` });
    expect(dm).toMatchObject({ code: 0, chargeKnown: false, charge: 0 });
  });

  it('charges that add up past the largest number: unknown', async () => {
    const reply = await vvtool({
      body: { code: 0, msg: 'ok', data: [{ withholding_money: 1e308 }, { withholding_money: 1e308 }] },
    });
    expect(reply).toMatchObject({ chargeKnown: false, charge: 0 });
  });
});
