// The HTTP API's request and answer bodies as plain TypeScript, with no runtime code and no imports:
// a consumer compiles against these without the service's dependencies. test/package/types.test.ts
// holds them equal to the route schemas, so a change to the API that breaks them fails there.

/** A vvtool account's shipment (POST /v1/ship; job vvtool.send). Ids are digit strings. */
export interface VvtoolShipRequest {
  account: string;
  /** Taobao trade id: a digit string (a JSON number only up to 2^53 − 1). */
  tid: string | number;
  shop_id: string;
  out_sid: string;
  company_code: string;
  /** Sub-order ids of a split shipment, comma-separated; given together with is_split. */
  sub_tid?: string;
  is_split?: 0 | 1;
  sender_id?: string | number;
  cancel_id?: string | number;
  feature?: string;
  vvtype?: 1 | 2;
}

/** A damaijia account's shipment (POST /v1/ship; job damaijia.delivery). */
export interface DamaijiaShipRequest {
  account: string;
  seller_nick: string;
  order_no: string;
  wp_code: string;
  waybill_no: string;
}

/** POST /v1/ship: the account's provider decides which of the two it must be. */
export type ShipRequest = VvtoolShipRequest | DamaijiaShipRequest;

/** POST /v1/sync (damaijia accounts; job damaijia.sync). */
export interface SyncRequest {
  account: string;
  orderSns: string;
  ownerId: string;
}

/** One item of POST /v1/batch: a ship or sync request with its type. */
export type BatchItem = VvtoolShipBatchItem | DamaijiaShipBatchItem | SyncBatchItem;

export interface VvtoolShipBatchItem extends VvtoolShipRequest {
  type: 'ship';
}

export interface DamaijiaShipBatchItem extends DamaijiaShipRequest {
  type: 'ship';
}

export interface SyncBatchItem extends SyncRequest {
  type: 'sync';
}

export type JobState = 'waiting' | 'active' | 'delayed' | 'completed' | 'failed' | 'dead';

/** The answer to an enqueue: the job id (its idempotency key) and whether it existed already. */
export interface EnqueueResult {
  id: string;
  state: JobState;
  /** True when a job with this key existed already: nothing new was enqueued. */
  duplicate: boolean;
}

/** GET /v1/jobs/:id. */
export interface JobView {
  id: string;
  queue: 'ship' | 'sync' | 'dead-letter';
  /** vvtool.send, damaijia.delivery or damaijia.sync; null once finished and gone from its queue. */
  name: string | null;
  state: JobState;
  attemptsMade: number;
  /** What a completed job returned (null until then). */
  result: unknown;
  /** The last failure, or the dead-letter reason. */
  lastError: string | null;
}

/** One problem with a request, by field (`tid`, `jobs.3.tid`, `authorization`). */
export interface Issue {
  path: string;
  message: string;
}
