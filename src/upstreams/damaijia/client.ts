import type { Secret } from '../../config/index.js';
import { readChargeField } from '../charge.js';
import { type BodyReading, createPost, isRecord, joinUrl } from '../transport.js';
import type { DamaijiaDeliveryRequest, DamaijiaSyncRequest, UpstreamReply } from '../types.js';

export interface DamaijiaClient {
  /** `POST {base}/vv/external/taoStoreBackstageDelivery`. Never throws for upstream trouble. */
  delivery(token: Secret, request: DamaijiaDeliveryRequest): Promise<UpstreamReply>;
  /** `POST {base}/vv/external/pinSynchronization`. Never throws for upstream trouble. */
  sync(token: Secret, request: DamaijiaSyncRequest): Promise<UpstreamReply>;
  /** Opens a connection to the upstream ahead of the first call (sends nothing; both paths share it). */
  preconnect(): void;
}

export const DAMAIJIA_DELIVERY_PATH = '/vv/external/taoStoreBackstageDelivery';
export const DAMAIJIA_SYNC_PATH = '/vv/external/pinSynchronization';

// damaijia takes the bare token, no "Bearer".
const authorization = (secret: string): string => secret;

export function createDamaijiaClient(opts: { baseUrl: string; timeoutMs: number }): DamaijiaClient {
  const deliveryUrl = joinUrl(opts.baseUrl, DAMAIJIA_DELIVERY_PATH);
  const syncUrl = joinUrl(opts.baseUrl, DAMAIJIA_SYNC_PATH);
  const post = createPost('damaijia', opts.timeoutMs, readDamaijiaBody);
  return {
    preconnect: () => post.preconnect(deliveryUrl),
    delivery(token, r) {
      const json = {
        seller_nick: r.seller_nick,
        order_no: r.order_no,
        wp_code: r.wp_code,
        // The parameter table says waybill_no, the document's example waybillNo: send both.
        waybill_no: r.waybill_no,
        waybillNo: r.waybill_no,
      };
      return post({ url: deliveryUrl, token, authorization, payload: { kind: 'json', value: json } });
    },
    sync(token, r) {
      const json = { orderSns: r.orderSns, ownerId: r.ownerId };
      return post({ url: syncUrl, token, authorization, payload: { kind: 'json', value: json } });
    },
  };
}

/** `{status, err?, msg?, data: {amount?}}`; code null when the body is not that shape. */
export function readDamaijiaBody(body: unknown): BodyReading {
  if (!isRecord(body)) return { code: null, message: '', charge: 0 };
  const { status, err, msg, data } = body;
  return {
    code: Number.isInteger(status) ? (status as number) : null,
    message: text(err) || text(msg),
    charge: chargeOf(data),
  };
}

/** data.amount: 0 when absent, null when unreadable (see readChargeField). */
function chargeOf(data: unknown): number | null {
  if (!isRecord(data)) return 0;
  const charge = readChargeField(data['amount']);
  return charge === undefined ? 0 : charge;
}

/** `err` is a hint for 422 and may be a structure rather than a string: keep it readable either way. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  return JSON.stringify(value);
}
