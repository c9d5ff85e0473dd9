/** Queue names (DESIGN.md) and the Redis keys this layer reads beside BullMQ's own. */
export const QUEUE_NAMES = { ship: 'ship', sync: 'sync', deadLetter: 'dead-letter' } as const;
export type WorkQueueName = 'ship' | 'sync';

export const queueKeys = {
  /** The idempotency marker of a job id: claim 'c', done 'd|…', dead 'x|…'. */
  marker: (prefix: string, jobId: string) => `${prefix}:idem:${jobId}`,
  /** BullMQ's hash of a job (its existence means the queue holds the job in some state). */
  job: (prefix: string, queue: string, jobId: string) => `${prefix}:${queue}:${jobId}`,
};
