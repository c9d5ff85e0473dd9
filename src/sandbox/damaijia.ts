import { damaijiaMessage, TOO_MANY_REQUESTS } from './codes.js';
import { DamaijiaBook } from './order-book.js';
import type { CallContext, ParsedBody, ProviderApi, Reply } from './provider.js';
import type { SandboxOperation } from './types.js';

const ROUTES: Readonly<Record<string, SandboxOperation>> = {
  '/vv/external/taoStoreBackstageDelivery': 'damaijia.delivery',
  '/vv/external/pinSynchronization': 'damaijia.sync',
};
const DELIVERY_FIELDS = ['seller_nick', 'order_no', 'wp_code'] as const;
const SYNC_FIELDS = ['orderSns', 'ownerId'] as const;

/**
 * damaijia delivery and sync (docs/upstreams.md): JSON bodies, `Authorization: <token>` with no
 * scheme. Fields are kept as text; a value that is neither text nor a number is not a valid field.
 */
export class DamaijiaApi implements ProviderApi {
  readonly provider = 'damaijia' as const;
  readonly prefix = '/vv/';
  readonly tooManyBody = JSON.stringify({ status: 429, err: TOO_MANY_REQUESTS });
  readonly #book = new DamaijiaBook();

  route(method: string | undefined, path: string): SandboxOperation {
    return method === 'POST' ? (ROUTES[path] ?? 'unknown') : 'unknown';
  }

  token(authorization: string | undefined): string | null {
    // The whole header is the token: "Bearer <token>" does not authenticate here.
    const value = authorization?.trim() ?? '';
    return value === '' ? null : value;
  }

  parse(_contentType: string | undefined, body: Buffer): ParsedBody {
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      return { fields: {}, problem: 'body is not JSON', invalid: [] };
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { fields: {}, problem: 'body is not a JSON object', invalid: [] };
    }
    const fields: Record<string, string> = {};
    const invalid: string[] = [];
    for (const [name, field] of Object.entries(value)) {
      if (field === null) continue;
      if (typeof field === 'string') fields[name] = field;
      else if (typeof field === 'number' && Number.isFinite(field)) fields[name] = String(field);
      else {
        // Kept as JSON text for the record; refused if processing needs it.
        fields[name] = JSON.stringify(field);
        invalid.push(name);
      }
    }
    return { fields, problem: null, invalid };
  }

  orderKey(operation: SandboxOperation, fields: Record<string, string>): string | null {
    const key = operation === 'damaijia.sync' ? fields['orderSns'] : fields['order_no'];
    return key === undefined || key.trim() === '' ? null : key.trim();
  }

  process(call: CallContext): Reply {
    if (call.body.problem !== null) return this.reply(132);
    return call.operation === 'damaijia.sync' ? this.#sync(call) : this.#deliver(call);
  }

  #deliver({ body, account, at, price }: CallContext): Reply {
    for (const name of DELIVERY_FIELDS) {
      const problem = fieldProblem(body, name);
      if (problem !== null) return this.reply(422, undefined, problem);
    }
    // The parameter table says waybill_no, the request example waybillNo: either is accepted.
    const waybillProblem = fieldProblem(body, 'waybill_no');
    const waybillKey = waybillProblem === null ? 'waybill_no' : 'waybillNo';
    if (waybillProblem !== null && fieldProblem(body, 'waybillNo') !== null) {
      return this.reply(422, undefined, waybillProblem);
    }
    const orderNo = body.fields['order_no']!.trim();
    const waybill = body.fields[waybillKey]!.trim();

    const verdict = this.#book.check(orderNo, waybill);
    if (verdict !== null && 'replay' in verdict) {
      // The same delivery again: success, nothing charged, the first delivery's time.
      const data = { order_no: orderNo, success: true, fahuoTime: verdict.replay.fahuoTime, amount: 0 };
      return { httpStatus: 200, code: 0, msg: damaijiaMessage(0), charged: 0, data };
    }
    if (verdict !== null) return this.reply(verdict.code, verdict.msg, verdict.err);
    if (account.balance < price) return this.reply(209);
    const fahuoTime = String(Math.floor(at / 1000));
    this.#book.commit(orderNo, { waybill, fahuoTime });
    account.charge(price);
    const data = { order_no: orderNo, success: true, fahuoTime, amount: price };
    return { httpStatus: 200, code: 0, msg: damaijiaMessage(0), charged: price, data };
  }

  #sync({ body, account, price }: CallContext): Reply {
    for (const name of SYNC_FIELDS) {
      const problem = fieldProblem(body, name);
      if (problem !== null) return this.reply(422, undefined, problem);
    }
    if (account.balance < price) return this.reply(209);
    // The document: charged on every success, even when the shop does not exist.
    account.charge(price);
    return {
      httpStatus: 200,
      code: 0,
      msg: damaijiaMessage(0),
      charged: price,
      data: { success: true, amount: price },
    };
  }

  reply(code: number, msg?: string, err?: string, charged = 0): Reply {
    const reply: { httpStatus: number; code: number; msg: string; err?: string; charged: number } = {
      httpStatus: 200,
      code,
      msg: msg ?? damaijiaMessage(code),
      charged,
    };
    if (err !== undefined) reply.err = err;
    return reply;
  }

  unknownRoute(): Reply {
    // Not in the documents: a plain 404 in damaijia's body shape.
    return { httpStatus: 404, code: 404, msg: 'not found', charged: 0 };
  }

  authFailed(): Reply {
    return this.reply(200);
  }

  render(reply: Reply, _at: number): string {
    if (reply.code === 0) return JSON.stringify({ data: reply.data ?? null, status: 0 });
    const data = reply.charged > 0 ? { success: false, amount: reply.charged } : null;
    const body: Record<string, unknown> = { data, status: reply.code, msg: reply.msg };
    if (reply.err !== undefined) body['err'] = reply.err;
    return JSON.stringify(body);
  }

  clear(): void {
    this.#book.clear();
  }
}

/** Why a field is not usable ('order_no 不能为空'), or null. */
function fieldProblem(body: ParsedBody, name: string): string | null {
  if (body.invalid.includes(name)) return `${name} 必须是字符串`;
  const value = body.fields[name];
  return value === undefined || value.trim() === '' ? `${name} 不能为空` : null;
}
