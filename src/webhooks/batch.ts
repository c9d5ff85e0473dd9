interface Waiting<T> {
  readonly item: T;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Gathers items and hands them to `flush` in batches: a batch goes `waitMs` after its first item (or
 * after the batch in flight ends), or at once when it holds `max`; one batch is in flight at a time.
 * Each `add` settles with its batch.
 */
export class Batcher<T> {
  readonly #flush: (items: T[]) => Promise<unknown>;
  readonly #max: number;
  readonly #waitMs: number;
  readonly #waiting: Waiting<T>[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;

  constructor(flush: (items: T[]) => Promise<unknown>, options: { max: number; waitMs: number }) {
    this.#flush = flush;
    this.#max = options.max;
    this.#waitMs = options.waitMs;
  }

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  /** Sends what is waiting now, and resolves once nothing is waiting or in flight. */
  async drain(): Promise<void> {
    while (this.#waiting.length > 0 || this.#flushing) {
      this.#kick();
      await this.#flushing;
    }
  }

  #schedule(): void {
    if (this.#flushing || this.#waiting.length === 0) return; // the flush in flight schedules what waits
    if (this.#waiting.length >= this.#max || this.#waitMs <= 0) this.#kick();
    else this.#timer ??= setTimeout(() => this.#kick(), this.#waitMs);
  }

  #kick(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#flushing || this.#waiting.length === 0) return;
    this.#flushing = this.#flushOne().finally(() => {
      this.#flushing = undefined;
      this.#schedule();
    });
  }

  async #flushOne(): Promise<void> {
    const batch = this.#waiting.splice(0, this.#max);
    try {
      await this.#flush(batch.map((waiting) => waiting.item));
      for (const waiting of batch) waiting.resolve();
    } catch (err) {
      for (const waiting of batch) waiting.reject(err);
    }
  }
}
