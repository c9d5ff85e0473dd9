import { timedAtWire, type WireObserver } from '../upstreams/wire-check.js';

/** How many recent check-to-wire delays are kept: a few seconds of one busy process. */
const KEPT = 512;

/**
 * Check-to-wire: how long after the limiter's last lateness check a request is handed to its socket
 * (the transport's `end()`, right after its wire check). This is the part of the margin a process
 * spends after the check: building the request, waiting for a connection, a GC pause in between.
 * Also counts the new connections of the calls it times, since a new TCP connection is one of the
 * longer ways to the wire. The transport reports both (src/upstreams/wire-check.ts says how a
 * request finds the call it belongs to).
 */
export class WireWatch implements WireObserver {
  readonly #delays = new Float64Array(KEPT);
  #count = 0;
  #connections = 0;

  /** Runs `send` (which starts one request synchronously) timed from `checkedAt` (performance.now() of the check). */
  timed<T>(checkedAt: number, send: () => Promise<T>): Promise<T> {
    return timedAtWire(this, checkedAt, send);
  }

  written(delayMs: number): void {
    this.#delays[this.#count % KEPT] = delayMs;
    this.#count += 1;
  }

  connected(): void {
    this.#connections += 1;
  }

  /** The worst of the recent delays (ms) but the top 1%: a high percentile of few samples. */
  recentHighMs(): number {
    const n = Math.min(this.#count, KEPT);
    if (n === 0) return 0;
    const sorted = Array.from(this.#delays.subarray(0, n)).sort((a, b) => a - b);
    return sorted[Math.min(n - 1, Math.floor(n * 0.99))]!;
  }

  /** The longest of the recent delays, ms. */
  recentMaxMs(): number {
    const n = Math.min(this.#count, KEPT);
    let max = 0;
    for (let i = 0; i < n; i++) max = Math.max(max, this.#delays[i]!);
    return max;
  }

  /** Calls measured from check to wire, and the new connections they were sent on, since start. */
  stats(): { readonly sends: number; readonly connections: number } {
    return { sends: this.#count, connections: this.#connections };
  }
}
