/**
 * Maps Redis time (where the limiter's schedule lives, one clock for every process) to this process's
 * clock. Each gate call returns Redis TIME; the sample whose round trip was shortest bounds the offset
 * best (NTP's idea), so we keep the best recent one. On one machine the offset is ~0; across machines
 * it absorbs clock skew, so a slot is fired when Redis time says, not when our wall clock does.
 */
export class RedisClock {
  #offsetMs = 0;
  #bestRttMs = Number.POSITIVE_INFINITY;
  #bestAt = 0;

  /** This process's clock, epoch ms with sub-ms precision, monotonic between NTP steps. */
  static localNow(): number {
    return performance.timeOrigin + performance.now();
  }

  /** Feed one sample: local time before the call, Redis time seen by the script, local time after. */
  observe(sentAt: number, redisNowMs: number, receivedAt: number): void {
    const rtt = receivedAt - sentAt;
    // A sample from long ago may be stale (clock slew); accept a worse one after 10 s.
    if (rtt <= this.#bestRttMs || receivedAt - this.#bestAt > 10_000) {
      this.#bestRttMs = rtt;
      this.#bestAt = receivedAt;
      this.#offsetMs = redisNowMs - (sentAt + receivedAt) / 2;
    }
  }

  /** Half the best recent round trip: how far the offset may be off. */
  get uncertaintyMs(): number {
    return this.#bestRttMs / 2;
  }

  /** A Redis timestamp (ms) expressed on the local clock. */
  toLocal(redisMs: number): number {
    return redisMs - this.#offsetMs;
  }

  /** A local timestamp (ms) expressed in Redis time. */
  toRedis(localMs: number): number {
    return localMs + this.#offsetMs;
  }
}
