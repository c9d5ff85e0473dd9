import { createHash } from 'node:crypto';

/** Queue names (docs/design.md) and the Redis keys this layer reads beside BullMQ's own. */
export const QUEUE_NAMES = { ship: 'ship', sync: 'sync', deadLetter: 'dead-letter' } as const;
/** A queue jobs run on (the dead-letter queue is not one). */
export type { QueueName as WorkQueueName } from '../jobs/names.js';

export const queueKeys = {
  /**
   * The idempotency marker of a job id: claim 'c', done 'd|…', dead 'x|…'. Named by a 96-bit hash of
   * the id rather than the id itself: a marker is kept for the whole retention window (7 days, 7 M keys
   * at 1 M shipments a day) and its name is most of its size. A collision among 7 M ids has odds of
   * about 1 in 10^15.
   */
  marker: (prefix: string, jobId: string) => `${prefix}:idem:${markerName(jobId)}`,
  /**
   * The live call of a shipment: `<call id>|<deadline ms>`, written by the gate with a grant and
   * removed by the settle, so that no second call is granted while one may be in flight.
   */
  liveCall: (prefix: string, shipKey: string) => `${prefix}:call:${markerName(shipKey)}`,
  /**
   * Set: the ids of an account's jobs queued or running, not yet finished (its backlog), kept by the
   * scripts that enqueue, settle, bury, sweep and redrive.
   */
  backlog: (prefix: string, account: string) => `${prefix}:acct:${account}:backlog`,
  /** BullMQ's hash of a job (its existence means the queue holds the job in some state). */
  job: (prefix: string, queue: string, jobId: string) => `${prefix}:${queue}:${jobId}`,
};

/** 16 base64url characters: the first 96 bits of the id's SHA-1. */
function markerName(jobId: string): string {
  return createHash('sha1').update(jobId).digest('base64url').slice(0, 16);
}
