import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { WorkQueueName } from '../keys.js';
import type { Logger } from '../log.js';
import type { Upstreams } from '../upstreams/index.js';
import { backoffDelay } from './backoff.js';
import type { PipelineObserver } from './observer.js';
import { createProcessor, type ProcessorDeps } from './processor.js';
import type { Fulfillment } from './service.js';

export interface WorkerOptions {
  readonly connection: Redis;
  readonly upstreams: Upstreams;
  readonly log: Logger;
  readonly observer?: PipelineObserver;
  /** Overrides LOCK_DURATION_MS. */
  readonly lockDurationMs?: number;
  /** Replaces parts the processor uses (tests inject faults into the bookkeeping this way). */
  readonly processorDeps?: Partial<
    Pick<ProcessorDeps, 'ledger' | 'deadLetters' | 'limiter' | 'bookkeepingDelaysMs'>
  >;
}

/**
 * A BullMQ worker for one queue, wired to the processor. BullMQ owns retries (our jittered backoff);
 * failed jobs are never dropped: the 'failed' handler moves any that the processor did not bury.
 */
export function createQueueWorker(
  service: Fulfillment,
  queue: WorkQueueName,
  options: WorkerOptions,
): Worker {
  const { config } = service;
  const lockDuration = options.lockDurationMs ?? config.lockDurationMs;
  const log = options.log.child({ queue });
  const processor = createProcessor({
    queue,
    redis: service.redis,
    prefix: config.prefix,
    accounts: service.accounts,
    limiter: service.limiter,
    upstreams: options.upstreams,
    ledger: service.ledger,
    deadLetters: service.deadLetters,
    log,
    observer: options.observer,
    idempotencyRetentionMs: config.idempotencyRetentionMs,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    ...options.processorDeps,
  });
  const worker = new Worker(queue, processor, {
    connection: options.connection,
    prefix: config.prefix,
    concurrency: config.workerConcurrency,
    lockDuration,
    stalledInterval: Math.max(1_000, Math.floor(lockDuration / 2)),
    // A job whose worker died is taken over; only after many deaths in a row is it failed (then buried).
    maxStalledCount: 10,
    // Our jittered exponential backoff for every job, whatever type its producer named: retry policy
    // is the worker's (RETRY_BASE_MS / RETRY_MAX_MS), not each producer's.
    settings: { backoffStrategy: (attemptsMade: number) => backoffDelay(attemptsMade, config.retry) },
  });
  worker.on('failed', (job: Job | undefined) => {
    if (!job) return;
    void (async () => {
      if (await job.isFailed()) await service.deadLetters.sweepFailed(queue, job);
    })().catch((err: unknown) =>
      log.error({ err, jobId: job.id }, 'could not move a failed job to the dead-letter queue'),
    );
  });
  // A lock this worker could not renew may already be another worker's: abort the run, so it stops
  // before its call if it has not sent it (the gate checks the lock too, at the grant).
  worker.on('lockRenewalFailed', (jobIds: string[]) => {
    for (const jobId of jobIds) worker.cancelJob(jobId, 'lock renewal failed');
  });
  worker.on('error', (err) => log.error({ err }, 'worker error'));
  return worker;
}
