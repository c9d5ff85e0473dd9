import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';

/** How many recent check-to-wire delays are kept: a few seconds of one busy process. */
const KEPT = 512;

/**
 * Check-to-wire: how long after the limiter's last lateness check a request's headers reach its
 * socket, measured on undici's own diagnostics channels (fetch, and so ky, publishes them). The
 * call runs in an async context stamped with its check's time; the request created in it carries
 * the stamp to the moment undici writes its headers. This is the part of the margin a process spends after the
 * check: building the request, waiting for a connection, a GC pause in between. Also counts the
 * connections undici opens, since a new TCP connection is one of the longer ways to the wire.
 */
export class WireWatch {
  readonly #context = new AsyncLocalStorage<number>();
  readonly #pending = new WeakMap<object, number>();
  readonly #delays = new Float64Array(KEPT);
  #count = 0;
  #sends = 0;
  #connections = 0;

  readonly #onCreate = (message: unknown) => {
    const checkedAt = this.#context.getStore();
    const request = (message as { request?: object }).request;
    if (checkedAt !== undefined && request) this.#pending.set(request, checkedAt);
  };

  readonly #onHeaders = (message: unknown) => {
    const request = (message as { request?: object }).request;
    const checkedAt = request && this.#pending.get(request);
    if (checkedAt === undefined || !request) return;
    this.#pending.delete(request);
    this.#delays[this.#count % KEPT] = performance.now() - checkedAt;
    this.#count += 1;
    this.#sends += 1;
  };

  readonly #onConnected = () => {
    this.#connections += 1;
  };

  constructor() {
    diagnostics.subscribe('undici:request:create', this.#onCreate);
    diagnostics.subscribe('undici:client:sendHeaders', this.#onHeaders);
    diagnostics.subscribe('undici:client:connected', this.#onConnected);
  }

  /** Runs `send` (which makes one request) timed from `checkedAt` (performance.now() of the check). */
  timed<T>(checkedAt: number, send: () => Promise<T>): Promise<T> {
    return this.#context.run(checkedAt, send);
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

  /** Calls measured from check to wire, and the connections undici opened, since start. */
  stats(): { readonly sends: number; readonly connections: number } {
    return { sends: this.#sends, connections: this.#connections };
  }

  close(): void {
    diagnostics.unsubscribe('undici:request:create', this.#onCreate);
    diagnostics.unsubscribe('undici:client:sendHeaders', this.#onHeaders);
    diagnostics.unsubscribe('undici:client:connected', this.#onConnected);
  }
}
