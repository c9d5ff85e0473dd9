/** The messages between a benchmark and its child processes (Node IPC). */

/** What a worker child has done so far, and what it cost. */
export interface ChildStats {
  /** process.cpuUsage() of the child, µs. */
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  readonly rss: number;
  readonly heapUsed: number;
  /** Jobs completed by this process, all accounts. */
  readonly completed: number;
  readonly failed: number;
  /** Jobs taken from the queue by this process (BullMQ's `active` events). */
  readonly takes?: number;
  /** Epoch ms (see time.ts) of the last completion, 0 before any. */
  readonly lastCompletedAt: number;
  /** Completions by `job.data.account`. */
  readonly byAccount: Readonly<Record<string, { readonly completed: number; readonly lastAt: number }>>;
  /** A product worker's check-to-wire times (the limiter's WireWatch): recent p99 and max, ms. */
  readonly wire?: {
    readonly sends: number;
    readonly connections: number;
    readonly highMs: number;
    readonly maxMs: number;
  };
}

export type ToParent =
  | { readonly type: 'ready'; readonly url?: string }
  | { readonly type: 'stats'; readonly id: number; readonly stats: ChildStats }
  | { readonly type: 'fatal'; readonly message: string };

export type ToChild = { readonly type: 'stats'; readonly id: number };

export function isToParent(value: unknown): value is ToParent {
  return (
    typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string'
  );
}

export function isToChild(value: unknown): value is ToChild {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'stats';
}
