/**
 * Sliding-window counting by arrival time. A window of `windowMs` ending at time t holds the calls
 * that arrived in (t - windowMs, t]: a call exactly windowMs earlier has left it.
 */

/** The most calls in any sliding window of `windowMs`. `times` need not be sorted. */
export function maxInSlidingWindow(times: number[], windowMs = 1000): number {
  const sorted = Float64Array.from(times).sort();
  let max = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[start]! <= sorted[end]! - windowMs) start++;
    max = Math.max(max, end - start + 1);
  }
  return max;
}

/**
 * The arrivals of one token inside the last window, as a ring buffer: O(1) amortised per call.
 * Arrivals must come in non-decreasing time, which holds because they are stamped in the
 * 'request' event with a monotonic clock, one event at a time.
 */
export class ArrivalWindow {
  readonly #windowMs: number;
  #times = new Float64Array(32);
  #head = 0;
  #size = 0;

  constructor(windowMs = 1000) {
    this.#windowMs = windowMs;
  }

  /** Adds an arrival and returns how many arrivals the window ending at it holds (itself included). */
  arrive(at: number): number {
    const capacity = this.#times.length;
    while (this.#size > 0 && this.#times[this.#head]! <= at - this.#windowMs) {
      this.#head = (this.#head + 1) % capacity;
      this.#size--;
    }
    if (this.#size === capacity) this.#grow();
    this.#times[(this.#head + this.#size) % this.#times.length] = at;
    this.#size++;
    return this.#size;
  }

  clear(): void {
    this.#head = 0;
    this.#size = 0;
  }

  #grow(): void {
    const old = this.#times;
    const next = new Float64Array(old.length * 2);
    for (let i = 0; i < this.#size; i++) next[i] = old[(this.#head + i) % old.length]!;
    this.#times = next;
    this.#head = 0;
  }
}
