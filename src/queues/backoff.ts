export interface BackoffSettings {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** The backoff type our producers put on jobs (`backoff: { type: 'jitter' }`). */
export const BACKOFF_TYPE = 'jitter';

/**
 * Exponential backoff with "equal jitter": half the exponential step is fixed, half random, so retries
 * of many jobs failing together spread out, yet none comes back at once. attemptsMade is 1 after the
 * first failure. The cap applies before the jitter, so no delay exceeds maxMs.
 */
export function backoffDelay(attemptsMade: number, settings: BackoffSettings, random = Math.random): number {
  const exponent = Math.max(0, attemptsMade - 1);
  const step = Math.min(settings.maxMs, settings.baseMs * 2 ** Math.min(exponent, 40));
  return Math.round(step / 2 + (random() * step) / 2);
}
