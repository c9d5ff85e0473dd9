import type { JobsOptions } from 'bullmq';
import { BACKOFF_TYPE } from './backoff.js';

/**
 * BullMQ priority of a job as enqueued. Workers take the wait list before the prioritized set, so a
 * job the limiter parked (the gate sets its priority to 0) comes back ahead of the backlog of jobs
 * that have not yet been through the gate, in time for its reserved slot.
 */
export const NEW_JOB_PRIORITY = 1;

/**
 * The BullMQ options of every job we put on a work queue, whether enqueued or redriven: its
 * idempotency key as id (none for a sync), our backoff, priority 1 (see NEW_JOB_PRIORITY), and a
 * completed job kept only as long as the dashboard needs it (the done marker remembers the
 * shipment). Failed jobs are kept for the sweep that moves them to the dead-letter queue.
 */
export function workJobOptions(jobId: string | null, attempts: number): JobsOptions {
  return {
    ...(jobId === null ? {} : { jobId }),
    attempts,
    priority: NEW_JOB_PRIORITY,
    backoff: { type: BACKOFF_TYPE },
    removeOnComplete: { age: 3_600, count: 1_000 },
    removeOnFail: false,
  };
}
