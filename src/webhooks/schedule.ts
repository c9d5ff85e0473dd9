/**
 * The wait after each failed attempt, in order: the first retry within a minute, then growing, so
 * that a receiver down for an hour misses nothing and retries go on for more than 24 hours (31.7 h
 * from the first attempt to the twelfth and last). After the last one fails the event is parked as
 * undeliverable.
 */
export const RETRY_DELAYS_MS: readonly number[] = [
  5_000, //       5 s: a blip (a deploy, a restart of the receiver)
  30_000, //     30 s
  2 * 60_000, //  2 min
  10 * 60_000, // 10 min
  30 * 60_000, // 30 min
  60 * 60_000, //  1 h: a receiver down for an hour is still within reach
  2 * 3_600_000,
  4 * 3_600_000,
  8 * 3_600_000,
  8 * 3_600_000,
  8 * 3_600_000, // the last retry, 31.7 h after the first attempt
];

/** Up to this fraction is added to each wait, so events that failed together do not return together. */
const JITTER = 0.1;

/**
 * The wait before the next attempt after `failed` attempts have failed, or null when none is left.
 * Jitter only lengthens a wait, so the schedule's total stays above its stated minimum.
 */
export function retryDelay(
  failed: number,
  delays: readonly number[] = RETRY_DELAYS_MS,
  random: () => number = Math.random,
): number | null {
  const base = delays[failed - 1];
  if (base === undefined) return null;
  return Math.round(base * (1 + JITTER * random()));
}
