import { damaijiaMessage, VVTOOL_614 } from './codes.js';

/** Why a shipment is refused by the book; null means it may ship. */
export type BookVerdict = { code: number; msg: string; err?: string } | null;

/**
 * vv-tool's book: a trade ships once, either whole or sub-order by sub-order (split), and a waybill
 * belongs to the first trade that used it. Trades are global, not per account: a Taobao trade id is.
 */
export class VvtoolBook {
  /** tid → 'whole', or the sub-order ids shipped so far by split shipments. */
  readonly #trades = new Map<string, 'whole' | Set<string>>();
  /** out_sid → tid. */
  readonly #waybills = new Map<string, string>();

  check(tid: string, subIds: readonly string[] | null, outSid: string): BookVerdict {
    const shipped = this.#trades.get(tid);
    if (shipped === 'whole') return { code: 614, msg: VVTOOL_614.alreadyShipped };
    if (shipped !== undefined) {
      if (subIds === null) return { code: 614, msg: VVTOOL_614.alreadySplit };
      if (subIds.some((id) => shipped.has(id))) return { code: 614, msg: VVTOOL_614.alreadyShipped };
    }
    const owner = this.#waybills.get(outSid);
    if (owner !== undefined && owner !== tid) return { code: 614, msg: VVTOOL_614.waybillUsed };
    return null;
  }

  /** Records a shipment that check() allowed. */
  commit(tid: string, subIds: readonly string[] | null, outSid: string): void {
    if (subIds === null) {
      this.#trades.set(tid, 'whole');
    } else {
      const shipped = this.#trades.get(tid);
      const set = shipped instanceof Set ? shipped : new Set<string>();
      for (const id of subIds) set.add(id);
      this.#trades.set(tid, set);
    }
    this.#waybills.set(outSid, tid);
  }

  clear(): void {
    this.#trades.clear();
    this.#waybills.clear();
  }
}

export interface Delivery {
  readonly waybill: string;
  /** Unix seconds as a string, as the document shows it. */
  readonly fahuoTime: string;
}

/** damaijia's book: an order is delivered once with one waybill; a waybill belongs to one order. */
export class DamaijiaBook {
  readonly #orders = new Map<string, Delivery>();
  /** waybill → order_no. */
  readonly #waybills = new Map<string, string>();

  /** The earlier delivery when this is an exact replay; a refusal; or null (new delivery). */
  check(orderNo: string, waybill: string): { replay: Delivery } | BookVerdict {
    const earlier = this.#orders.get(orderNo);
    if (earlier !== undefined) {
      if (earlier.waybill === waybill) return { replay: earlier };
      return {
        code: 217,
        msg: damaijiaMessage(217),
        err: `order ${orderNo} was already delivered with another waybill`,
      };
    }
    const owner = this.#waybills.get(waybill);
    if (owner !== undefined) {
      return {
        code: 217,
        msg: damaijiaMessage(217),
        err: `waybill ${waybill} is already used by another order`,
      };
    }
    return null;
  }

  commit(orderNo: string, delivery: Delivery): void {
    this.#orders.set(orderNo, delivery);
    this.#waybills.set(delivery.waybill, orderNo);
  }

  clear(): void {
    this.#orders.clear();
    this.#waybills.clear();
  }
}
