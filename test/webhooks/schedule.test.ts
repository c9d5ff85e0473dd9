import { describe, expect, it } from 'vitest';
import { RETRY_DELAYS_MS, retryDelay } from '../../src/webhooks/index.js';

describe('the retry schedule', () => {
  it('retries first within a minute, never shortens, and keeps going for more than 24 hours', () => {
    expect(RETRY_DELAYS_MS[0]).toBeLessThanOrEqual(60_000);
    for (let i = 1; i < RETRY_DELAYS_MS.length; i++) {
      expect(RETRY_DELAYS_MS[i]).toBeGreaterThanOrEqual(RETRY_DELAYS_MS[i - 1]!);
    }
    // With no jitter at all (its least), the last attempt is still past 24 hours after the first.
    const total = RETRY_DELAYS_MS.reduce((sum, ms) => sum + ms, 0);
    expect(total).toBeGreaterThan(24 * 3_600_000);
    // A receiver down for an hour: some attempt falls after the hour.
    let at = 0;
    const attempts = [0, ...RETRY_DELAYS_MS.map((ms) => (at += ms))];
    expect(attempts.some((t) => t > 3_600_000 && t < 3 * 3_600_000)).toBe(true);
  });

  it('adds up to 10 % jitter, and has nothing after the last retry', () => {
    expect(retryDelay(1, RETRY_DELAYS_MS, () => 0)).toBe(5_000);
    expect(retryDelay(1, RETRY_DELAYS_MS, () => 0.999)).toBeLessThanOrEqual(5_500);
    expect(retryDelay(RETRY_DELAYS_MS.length, RETRY_DELAYS_MS, () => 0)).toBe(8 * 3_600_000);
    expect(retryDelay(RETRY_DELAYS_MS.length + 1)).toBeNull();
    expect(retryDelay(1, [])).toBeNull();
  });
});
