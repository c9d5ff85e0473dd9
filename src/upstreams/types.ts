import type { Provider } from '../config/index.js';

/** The three upstream operations; each is also the BullMQ job name that performs it. */
/** An upstream operation: the job name that performs it (src/jobs defines them once). */
export type { JobName as Operation } from '../jobs/names.js';

/** What one upstream call came back with. Clients never throw for upstream trouble: they return this. */
export type UpstreamReply = AnsweredReply | UnansweredReply;

/**
 * The upstream sent an HTTP answer (any status, any body). What it charged is known (`charge`) unless
 * `chargeKnown` is false.
 */
export interface AnsweredReply {
  readonly answered: true;
  readonly provider: Provider;
  readonly httpStatus: number;
  /** The provider's own code (vv-tool `code`, damaijia `status`); null when the body is not the documented JSON. */
  readonly code: number | null;
  /** vv-tool `msg`; damaijia `err` (or `msg`) when present; '' otherwise. */
  readonly message: string;
  /**
   * Coupons the answer says were charged: vv-tool sum of data[].withholding_money, damaijia data.amount;
   * 0 if it says nothing, and 0 when `chargeKnown` is false.
   */
  readonly charge: number;
  /**
   * False when the answer cannot say what the call cost although the call may have been processed:
   * HTTP 500, 502, 504 (any 5xx but 501, 503 and 505), a 2xx whose body is not the document's JSON,
   * or a charge field that is negative, not finite or not a number. Such a call is recorded as
   * "charge unknown", never as 0. An answer that refuses the call (429, 503, 4xx) is known.
   */
  readonly chargeKnown: boolean;
  /** The parsed JSON body, or null when it did not parse. */
  readonly body: unknown;
  /** The body text as received, cut to 4 KiB, for the record. Never contains our token. */
  readonly raw: string;
  readonly durationMs: number;
}

/**
 * No HTTP answer. `sent` is false only when the request provably never reached the upstream: it
 * failed before the transport handed it to its socket (connection refused, DNS failure, a timeout
 * while connecting, or `late`: its wire check held it back), so nothing can have been charged.
 * Otherwise (timeout, reset after it was written) the call may have been charged and the ledger
 * records it as unknown.
 */
export interface UnansweredReply {
  readonly answered: false;
  readonly provider: Provider;
  readonly failure: 'refused' | 'timeout' | 'reset' | 'network' | 'late';
  readonly sent: boolean;
  /** A short description for people, e.g. "timeout after 10000 ms". Never contains our token. */
  readonly message: string;
  readonly durationMs: number;
}

/** vv-tool `POST /tool/erps/send` fields, as validated by src/jobs (ids as digit strings). */
export interface VvtoolSendRequest {
  readonly tid: string;
  readonly shop_id: string;
  readonly out_sid: string;
  readonly company_code: string;
  readonly sub_tid?: string;
  readonly is_split?: 0 | 1;
  readonly sender_id?: string;
  readonly cancel_id?: string;
  readonly feature?: string;
  readonly vvtype?: 1 | 2;
}

/** damaijia `POST /vv/external/taoStoreBackstageDelivery` fields. */
export interface DamaijiaDeliveryRequest {
  readonly seller_nick: string;
  readonly order_no: string;
  readonly wp_code: string;
  readonly waybill_no: string;
}

/** damaijia `POST /vv/external/pinSynchronization` fields. */
export interface DamaijiaSyncRequest {
  readonly orderSns: string;
  readonly ownerId: string;
}
