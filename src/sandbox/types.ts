/** The public types of the sandbox: the in-process API and the records it keeps. */

export type SandboxProvider = 'vvtool' | 'damaijia';
export type FaultKind = 'http500' | 'http502' | 'http504' | 'http429' | 'reset' | 'stall' | 'garbage';
export type SandboxOperation = 'vvtool.send' | 'damaijia.delivery' | 'damaijia.sync' | 'unknown';

export interface SandboxAccount {
  token: string;
  label: string;
  /** Omitted: the token is accepted by both providers. */
  provider?: SandboxProvider;
  /** Coupons; default 1_000_000. */
  balance?: number;
}

export interface SandboxOptions {
  /** 0 = a free port; default 0. */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  accounts: SandboxAccount[];
  /** Calls per token in any sliding 1000 ms window; default 10 (the vv-tool document's limit). */
  ratePerSecond?: number;
  /** Coupons per successful call; default 1. */
  price?: number;
  /** How long a 'stall' holds the socket before destroying it; default 30000. */
  stallMs?: number;
  /** How long every upstream answer takes, ms (a slow upstream); default 0. Arrival is still stamped at once. */
  latencyMs?: number;
}

/**
 * One scripted answer for a chosen order, consumed one per call.
 * - `{ code }`: answer this provider code (vv-tool `code` / damaijia `status`) without processing;
 *   code 0 means real processing (order book, charge), with `charge` overriding the price.
 * - `{ fault }`: a transport fault; `when: 'after'` (all but http429) processes and charges first.
 * - `{ pass: true }`: real processing.
 */
export type ScriptedAnswer =
  | { code: number; msg?: string; err?: string; charge?: number }
  | { fault: FaultKind; when?: 'before' | 'after' }
  | { pass: true };

export interface FaultSettings {
  /** Share of calls (0..1) that get a fault. */
  rate: number;
  kinds: FaultKind[];
  /** Seed of the deterministic PRNG that picks the calls and kinds; default 1. */
  seed?: number;
  /** Default 'before'; 'after' and 'random' apply to every kind but http429 (always 'before'). */
  when?: 'before' | 'after' | 'random';
}

export interface CallRecord {
  seq: number;
  /** Arrival time, epoch ms with fraction, stamped when the request's headers arrived. */
  at: number;
  provider: SandboxProvider;
  operation: SandboxOperation;
  /** The account's label, never the token; null when the call did not authenticate. */
  account: string | null;
  /** tid / order_no / orderSns. */
  orderKey: string | null;
  fields: Record<string, string>;
  /** null when no answer was sent (reset, stall, client gone). */
  httpStatus: number | null;
  /** The provider code answered, or, for an 'after' fault, the one processing decided. */
  code: number | null;
  msg: string;
  charged: number;
  fault: FaultKind | null;
  processed: boolean;
}

export interface AccountReport {
  calls: number;
  charged: number;
  balance: number;
  /** Max calls in any sliding 1000 ms window, by arrival. */
  maxInWindow: number;
  violations: number;
}

export interface SandboxReport {
  calls: number;
  charged: number;
  byAccount: Record<string, AccountReport>;
  violations: Array<{ account: string; at: number; count: number }>;
}

export interface CallFilter {
  account?: string;
  /** Only calls that arrived at or after this epoch-ms time. */
  since?: number;
}

export interface Sandbox {
  readonly url: string;
  /** Both equal `url`: the paths are the documents' own. */
  readonly vvtoolBaseUrl: string;
  readonly damaijiaBaseUrl: string;
  /** Answers consumed one per call for that order, then real processing. */
  script(provider: SandboxProvider, orderKey: string, answers: ScriptedAnswer[]): void;
  /** Random transport faults on a share of calls (deterministic PRNG); null clears. */
  setFaults(faults: FaultSettings | null): void;
  setBalance(label: string, balance: number): void;
  /** Every upstream answer (not control routes) leaves this many ms after the request came in. */
  setLatency(ms: number): void;
  balance(label: string): number;
  calls(filter?: CallFilter): CallRecord[];
  report(): SandboxReport;
  /** Clears calls, order book, scripts, faults, latency and rate windows; balances back to their start. */
  reset(): void;
  /** Stops listening and destroys open and stalled sockets. */
  close(): Promise<void>;
}
