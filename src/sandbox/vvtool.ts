import { TOO_MANY_REQUESTS, VVTOOL_614, vvtoolMessage } from './codes.js';
import { FormBodyError, parseFormBody } from './form-body.js';
import { VvtoolBook } from './order-book.js';
import { type CallContext, given, type ParsedBody, type ProviderApi, type Reply } from './provider.js';
import type { SandboxOperation } from './types.js';

const SEND_PATH = '/tool/erps/send';
const REQUIRED = ['tid', 'shop_id', 'out_sid', 'company_code'] as const;
const DIGITS = /^\d+$/;

/** vv-tool `POST /tool/erps/send` (docs/upstreams.md): form fields, `Authorization: Bearer <token>`. */
export class VvtoolApi implements ProviderApi {
  readonly provider = 'vvtool' as const;
  readonly prefix = '/tool/';
  readonly tooManyBody = JSON.stringify({ code: 429, msg: TOO_MANY_REQUESTS });
  readonly #book = new VvtoolBook();

  route(method: string | undefined, path: string): SandboxOperation {
    return method === 'POST' && path === SEND_PATH ? 'vvtool.send' : 'unknown';
  }

  token(authorization: string | undefined): string | null {
    const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    return match ? match[1]! : null;
  }

  parse(contentType: string | undefined, body: Buffer): ParsedBody {
    try {
      return { fields: parseFormBody(contentType, body), problem: null, invalid: [] };
    } catch (err) {
      if (err instanceof FormBodyError) return { fields: {}, problem: err.message, invalid: [] };
      throw err;
    }
  }

  orderKey(_operation: SandboxOperation, fields: Record<string, string>): string | null {
    return given(fields, 'tid');
  }

  process({ body, account, price }: CallContext): Reply {
    const { fields, problem } = body;
    if (problem !== null) return this.reply(100);
    if (REQUIRED.some((name) => given(fields, name) === null)) return this.reply(100);
    const tid = given(fields, 'tid')!;
    const outSid = given(fields, 'out_sid')!;
    if (!DIGITS.test(tid)) return this.reply(100);
    const isSplit = given(fields, 'is_split');
    const subTid = given(fields, 'sub_tid');
    if ((isSplit === null) !== (subTid === null)) return this.reply(614, VVTOOL_614.splitTogether);
    if (isSplit !== null && isSplit !== '0' && isSplit !== '1') return this.reply(100);
    const vvtype = given(fields, 'vvtype');
    if (vvtype !== null && vvtype !== '1' && vvtype !== '2') return this.reply(100);
    const subIds = subTid === null ? null : subTid.split(',').map((id) => id.trim());
    if (subIds?.some((id) => !DIGITS.test(id))) return this.reply(100);
    // is_split=0 ships the whole trade: the sub-order list only matters to a split shipment.
    const split = isSplit === '1' ? [...new Set(subIds)] : null;

    const refusal = this.#book.check(tid, split, outSid);
    if (refusal !== null) return this.reply(refusal.code, refusal.msg);
    // The order book answers before the balance: a refused call would charge nothing anyway.
    if (account.balance < price) return this.reply(204);
    this.#book.commit(tid, split, outSid);
    account.charge(price);
    return { httpStatus: 200, code: 0, msg: vvtoolMessage(0), charged: price };
  }

  reply(code: number, msg?: string, _err?: string, charged = 0): Reply {
    return { httpStatus: 200, code, msg: msg ?? vvtoolMessage(code), charged };
  }

  unknownRoute(): Reply {
    return this.reply(404);
  }

  authFailed(): Reply {
    return this.reply(401);
  }

  render(reply: Reply, at: number): string {
    const now = performance.timeOrigin + performance.now();
    const data =
      reply.code === 0
        ? [{ withholding_money: reply.charged, success: true }]
        : reply.charged > 0
          ? [{ withholding_money: reply.charged, success: false }]
          : [];
    return JSON.stringify({
      code: reply.code,
      msg: reply.msg,
      msec: Math.max(0, Math.round(now - at)),
      time: Math.floor(now / 1000),
      data,
    });
  }

  clear(): void {
    this.#book.clear();
  }
}
