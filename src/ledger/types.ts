import type { Provider } from '../config/index.js';
import type { Operation } from '../upstreams/types.js';

export type { Operation, Provider };

/** Who made one upstream call, for which order, in which job attempt. */
export interface CallContext {
  readonly account: string;
  readonly provider: Provider;
  /** The job name that made the call. */
  readonly operation: Operation;
  /** `shop_id`, `seller_nick` or `ownerId`. */
  readonly shop: string;
  /** `tid`, `order_no` or `orderSns`. */
  readonly order: string;
  readonly jobId: string;
  /** Must differ between deliveries of one job (a redelivery after a crash is a new attempt). */
  readonly attempt: number;
}

export type EntryStatus = 'charged' | 'unknown';

/** One recorded spend, unique per `${jobId}#${attempt}` (which is also its id). */
export interface LedgerEntry {
  readonly id: string;
  /** ISO 8601, UTC. */
  readonly at: string;
  readonly account: string;
  readonly provider: Provider;
  readonly operation: Operation;
  readonly shop: string;
  readonly order: string;
  readonly jobId: string;
  readonly attempt: number;
  /** Coupons charged; null when the answer never came back. */
  readonly amount: number | null;
  readonly status: EntryStatus;
}

/** What one call cost: the amount an answer reports, or unknown when no answer came back. */
export type Settlement = { readonly amount: number } | { readonly unknown: true };

/**
 * Keys the settle also sets, in the same atomic step: the job's done or dead marker, so that a call's
 * charge and its job's outcome are written together and no crash can leave one without the other.
 * Must share the ledger's hash tag.
 */
export interface AlsoSet {
  /** One or more keys set to `value` (the job id's marker, and the shipment key's when it differs). */
  readonly keys: readonly string[];
  readonly value: string;
  /** Time to live, ms; null keeps the keys until something removes them (a dead marker). */
  readonly ttlMs: number | null;
}

/** What a settle finishes besides the entry. */
export interface SettleOptions {
  readonly alsoSet?: AlsoSet;
  /**
   * The job's live-call key (`<call id>|<deadline>`, written by the gate with the grant): removed when
   * it still names this call, so the next run of the job may call again only after this one settled.
   */
  readonly liveKey?: string;
  /** A member removed from a set in the same step (the finished job from its account's backlog). */
  readonly alsoRemove?: { readonly key: string; readonly member: string };
  /** An event recorded with the settle, in the outbox stream at `key` (see src/events). */
  readonly event?: { readonly key: string; readonly type: string; readonly data: unknown };
}

export type GroupBy = 'account' | 'shop' | 'operation' | 'day';

/** Epoch milliseconds: `from` inclusive, `to` exclusive. */
export interface TimeRange {
  readonly from?: number;
  readonly to?: number;
}

export interface SummaryQuery extends TimeRange {
  readonly groupBy?: GroupBy;
}

export interface Totals {
  /** Sum of the known (charged) amounts. */
  readonly total: number;
  /** Entries, charged and unknown. */
  readonly calls: number;
  /** Entries whose amount is unknown. */
  readonly unknown: number;
}

export interface Summary extends Totals {
  readonly groups: ReadonlyArray<Totals & { readonly key: string }>;
}

export interface EntriesQuery extends TimeRange {
  /** Default 100, at most 1,000. */
  readonly limit?: number;
  /** The `next` of the previous page. */
  readonly cursor?: string;
}

export interface EntriesPage {
  readonly items: LedgerEntry[];
  readonly next: string | null;
}
