/**
 * The outbox: one Redis stream of every event the service records, `${prefix}:outbox`. With a prefix
 * that is a hash tag (`{fulfillment}`) it shares a Redis Cluster slot with the queues' keys, so the
 * scripts that change a job or an account can append to it in the same step.
 */
export function outboxKey(prefix: string): string {
  return `${prefix}:outbox`;
}

/** The fields of every outbox entry, in the order they are written. */
export const OUTBOX_FIELDS = ['type', 'at', 'data'] as const;

/**
 * How long entries stay when no consumer group reads the stream (no deliverer anywhere): long enough
 * for a deliverer started a little later to pick up what happened just before it.
 */
export const UNREAD_RETENTION_MS = 60 * 60_000;
