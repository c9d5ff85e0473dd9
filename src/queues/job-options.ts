import type { JobsOptions } from 'bullmq';
import { BACKOFF_TYPE } from './backoff.js';

/**
 * The BullMQ options of every job we put on a work queue, whether enqueued or redriven: its
 * idempotency key as id (none for a sync), our backoff, and a completed job kept only as long as the
 * dashboard needs it (the done marker remembers the shipment). Failed jobs are kept for the sweep
 * that moves them to the dead-letter queue.
 */
export function workJobOptions(jobId: string | null, attempts: number): JobsOptions {
  return {
    ...(jobId === null ? {} : { jobId }),
    attempts,
    backoff: { type: BACKOFF_TYPE },
    removeOnComplete: { age: 3_600, count: 1_000 },
    removeOnFail: false,
  };
}
