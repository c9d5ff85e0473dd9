/** Small HTTP helpers for the sandbox tests: real requests with fetch, FormData and JSON. */

export const VV_PATH = '/tool/erps/send';
export const DELIVERY_PATH = '/vv/external/taoStoreBackstageDelivery';
export const SYNC_PATH = '/vv/external/pinSynchronization';

export interface Answer {
  readonly status: number;
  readonly contentType: string | null;
  readonly text: string;
  /** The parsed body, or undefined when it is not JSON. */
  readonly body: Record<string, unknown> | undefined;
}

export function form(fields: Record<string, string>): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.append(name, value);
  return data;
}

/** A valid vv-tool send for trade `tid`, with a waybill of its own unless given. */
export function ship(tid: string, extra: Record<string, string> = {}): Record<string, string> {
  return { tid, shop_id: 'shop-1', out_sid: `YT${tid}0000`, company_code: 'YTO', ...extra };
}

export function delivery(orderNo: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { seller_nick: '测试', order_no: orderNo, wp_code: 'YTO', waybill_no: `W${orderNo}0000`, ...extra };
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: Record<string, unknown> | undefined;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = undefined;
  }
  return { status: res.status, contentType: res.headers.get('content-type'), text, body };
}

/** POST /tool/erps/send as multipart/form-data with `Authorization: Bearer <token>` (token null: no header). */
export async function vvSend(
  url: string,
  token: string | null,
  fields: Record<string, string>,
  init: { path?: string; method?: string; authorization?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (init.authorization !== undefined) headers['authorization'] = init.authorization;
  else if (token !== null) headers['authorization'] = `Bearer ${token}`;
  const method = init.method ?? 'POST';
  const res = await fetch(`${url}${init.path ?? VV_PATH}`, {
    method,
    headers,
    ...(method === 'GET' ? {} : { body: form(fields) }),
  });
  return answer(res);
}

/** POST a damaijia path with a JSON body (a string is sent as is) and `Authorization: <token>`. */
export async function dmjPost(
  url: string,
  path: string,
  token: string | null,
  body: unknown,
  authorization?: string,
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization !== undefined) headers['authorization'] = authorization;
  else if (token !== null) headers['authorization'] = token;
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return answer(res);
}

/** The request a call makes, for tests that only need the rejection of a transport fault. */
export function vvRequest(url: string, token: string, fields: Record<string, string>): Promise<Response> {
  return fetch(`${url}${VV_PATH}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form(fields),
  });
}
