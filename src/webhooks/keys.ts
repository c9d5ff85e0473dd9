/** The consumer group the deliverers read the outbox with (other consumers use groups of their own). */
export const WEBHOOK_GROUP = 'webhooks';

/**
 * Where events that failed their first delivery wait for the next attempt, and where those given up
 * on are parked. All under the prefix (one Cluster slot with a hash-tag prefix): the scripts touch
 * several at once. An event is in the outbox's pending list during its first attempt, and here after
 * that first attempt failed, never in both.
 */
export interface WebhookKeys {
  /** Hash: entry id → the event's outbox fields as JSON (`{type, at, data}`). */
  readonly events: string;
  /** Hash: entry id → attempts made so far. */
  readonly attempts: string;
  /**
   * Sorted set: entry id → epoch ms it is next due. While an attempt runs, the score is the end of its
   * lease: a deliverer that dies mid-attempt leaves the event due again once the lease is over.
   */
  readonly due: string;
  /** Sorted set: entry id → epoch ms it was recorded (its id's time): the oldest one waiting. */
  readonly age: string;
  /** Stream (capped): events given up on, with their last error, for a person to look at. */
  readonly undeliverable: string;
}

export function webhookKeys(prefix: string): WebhookKeys {
  return {
    events: `${prefix}:webhooks:events`,
    attempts: `${prefix}:webhooks:attempts`,
    due: `${prefix}:webhooks:due`,
    age: `${prefix}:webhooks:age`,
    undeliverable: `${prefix}:webhooks:undeliverable`,
  };
}

/** How many parked events the undeliverable stream keeps (approximately: XADD MAXLEN ~). */
export const UNDELIVERABLE_KEPT = 10_000;
