import type { Secret } from '../../config/index.js';
import { readChargeField } from '../charge.js';
import { type BodyReading, createPost, isRecord, joinUrl } from '../transport.js';
import type { UpstreamReply, VvtoolSendRequest } from '../types.js';

export interface VvtoolClient {
  /** `POST {base}/tool/erps/send`. Never throws for upstream trouble: see UpstreamReply. */
  send(token: Secret, request: VvtoolSendRequest): Promise<UpstreamReply>;
  /** Opens a connection to the upstream ahead of the first call (sends nothing). */
  preconnect(): void;
}

export const VVTOOL_SEND_PATH = '/tool/erps/send';

/** The fields the document lists, in its order; only these are ever sent. */
const SEND_FIELDS = [
  'tid',
  'shop_id',
  'out_sid',
  'company_code',
  'sub_tid',
  'is_split',
  'sender_id',
  'cancel_id',
  'feature',
  'vvtype',
] as const satisfies readonly (keyof VvtoolSendRequest)[];

export function createVvtoolClient(opts: { baseUrl: string; timeoutMs: number }): VvtoolClient {
  const url = joinUrl(opts.baseUrl, VVTOOL_SEND_PATH);
  const post = createPost('vvtool', opts.timeoutMs, readVvtoolBody);
  return {
    preconnect: () => post.preconnect(url),
    send(token, request) {
      // multipart/form-data, as the document's examples send it (encoded by the transport).
      const fields: Record<string, string> = {};
      for (const field of SEND_FIELDS) {
        const value = request[field];
        if (value !== undefined && value !== null) fields[field] = String(value);
      }
      return post({
        url,
        token,
        authorization: (secret) => `Bearer ${secret}`,
        payload: { kind: 'form', fields },
      });
    },
  };
}

/** `{code, msg, data: [{withholding_money, success}]}`; code null when the body is not that shape. */
export function readVvtoolBody(body: unknown): BodyReading {
  if (!isRecord(body)) return { code: null, message: '', charge: 0 };
  const { code, msg, data } = body;
  return {
    code: Number.isInteger(code) ? (code as number) : null,
    message: typeof msg === 'string' ? msg : '',
    charge: sumCharges(data),
  };
}

/** The sum of every withholding_money; null as soon as one is unreadable (the total is then unknown). */
function sumCharges(data: unknown): number | null {
  // The document says an array; a lone object is read too, so a charge is never missed.
  const items = Array.isArray(data) ? data : [data];
  let total = 0;
  for (const item of items) {
    if (!isRecord(item)) continue;
    const charge = readChargeField(item['withholding_money']);
    if (charge === null) return null;
    total += charge ?? 0;
  }
  // Finite amounts can still add up past the largest number.
  return Number.isFinite(total) ? total : null;
}
