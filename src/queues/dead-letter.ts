import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  type AccountLookup,
  type Issue,
  type JobData,
  type JobName,
  ValidationError,
  validateJobData,
} from '../jobs/index.js';
import { workJobOptions } from './job-options.js';
import { queueKeys, type WorkQueueName } from './keys.js';
import { type DeadInfo, deadMarker } from './markers.js';

/** What the dead-letter queue holds per job (the BullMQ job's data; its id is the job's own id). */
export interface DeadRecord extends DeadInfo {
  readonly queue: WorkQueueName;
  readonly name: JobName;
  readonly account: string;
  readonly data: JobData;
  /** When the job was first enqueued (epoch ms). */
  readonly enqueuedAt: number;
}

/** One item of `GET /v1/dead-letter` (docs/api.md). */
export interface DeadLetterItem {
  readonly id: string;
  readonly queue: WorkQueueName;
  readonly name: JobName;
  readonly account: string;
  readonly data: JobData;
  readonly code: number | null;
  readonly message: string;
  readonly reason: string;
  readonly attemptsMade: number;
  readonly failedAt: string;
}

export interface DeadLetterFilter {
  readonly account?: string;
  readonly code?: number;
  readonly queue?: WorkQueueName;
}

export interface RedriveRequest {
  readonly ids?: readonly string[];
  readonly filter?: DeadLetterFilter;
  readonly patch?: Readonly<Record<string, unknown>>;
}

export interface DeadLettersOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly deadLetter: Queue;
  readonly queues: Readonly<Record<WorkQueueName, Queue>>;
  readonly accounts: AccountLookup;
  readonly attempts: number;
}

const SCAN_PAGE = 500;
/** Redrive by filter takes at most this many per call; call again for more. */
export const MAX_REDRIVE = 1_000;

/**
 * The dead-letter queue: one home per dead job, kept until a person redrives or purges it.
 * Moving a job in and out is crash-safe rather than one transaction (BullMQ's add and remove are each
 * their own script): the dead marker is written first and the gate reads it, so a job caught between
 * two homes by a crash never calls the upstream again, and the move completes when it is next seen.
 */
export class DeadLetters {
  readonly #o: DeadLettersOptions;

  constructor(options: DeadLettersOptions) {
    this.#o = options;
  }

  /** Parks a job that died: marker first (the gate's truth), then the dead-letter queue entry. */
  async bury(job: Job, queue: WorkQueueName, info: DeadInfo): Promise<void> {
    const { redis, prefix, deadLetter } = this.#o;
    const data = job.data as JobData;
    await redis.set(queueKeys.marker(prefix, String(job.id)), deadMarker(info));
    const record: DeadRecord = {
      ...info,
      queue,
      name: job.name as JobName,
      account: typeof data?.account === 'string' ? data.account : '',
      data,
      enqueuedAt: job.timestamp,
    };
    await deadLetter.add(job.name, record, { jobId: String(job.id), removeOnComplete: true });
  }

  async get(id: string): Promise<DeadLetterItem | null> {
    const job = await this.#o.deadLetter.getJob(id);
    return job ? toItem(job) : null;
  }

  async count(): Promise<number> {
    return this.#o.deadLetter.getWaitingCount();
  }

  /** Pages through dead letters, oldest first, keeping those that match the filter. */
  async list(
    filter: DeadLetterFilter,
    limit: number,
    cursor?: string,
  ): Promise<{ items: DeadLetterItem[]; next: string | null }> {
    let offset = decodeCursor(cursor);
    const items: DeadLetterItem[] = [];
    for (;;) {
      const jobs = await this.#o.deadLetter.getJobs(['waiting'], offset, offset + SCAN_PAGE - 1, true);
      for (const [index, job] of jobs.entries()) {
        if (!job || !matches(job, filter)) continue;
        items.push(toItem(job));
        if (items.length === limit) {
          const more = index < jobs.length - 1 || jobs.length === SCAN_PAGE;
          return { items, next: more ? encodeCursor(offset + index + 1) : null };
        }
      }
      if (jobs.length < SCAN_PAGE) return { items, next: null };
      offset += SCAN_PAGE;
    }
  }

  /**
   * Puts dead jobs back on their origin queue under their own id, each with the patch applied and
   * validated like a new job. All-or-nothing: if any patched job is invalid, nothing moves.
   */
  async redrive(request: RedriveRequest): Promise<{ redriven: number; ids: string[] }> {
    const jobs = await this.#select(request);
    const patch = request.patch ?? {};
    const issues: Issue[] = [];
    const moves = jobs.map((job) => {
      const record = job.data as DeadRecord;
      const result = validateJobData(record.name, { ...record.data, ...patch }, this.#o.accounts);
      if (!result.ok) {
        issues.push(...result.issues.map((issue) => ({ ...issue, path: `${job.id}.${issue.path}` })));
      }
      return { job, record, data: result.ok ? result.job.data : record.data };
    });
    if (issues.length > 0) throw new ValidationError(issues);

    const { redis, prefix, queues } = this.#o;
    for (const { job, record, data } of moves) {
      const id = String(job.id);
      // A failed leftover of the same id in the origin queue would make BullMQ keep it instead.
      const leftover = await queues[record.queue].getJob(id);
      if (leftover && (await leftover.isFailed())) await leftover.remove();
      await redis.set(queueKeys.marker(prefix, id), 'c', 'PX', 60_000);
      await queues[record.queue].add(record.name, data, workJobOptions(id, this.#o.attempts));
      await job.remove();
    }
    return { redriven: moves.length, ids: moves.map(({ job }) => String(job.id)) };
  }

  /** Purges one dead job for good; afterwards its key can be enqueued afresh. */
  async remove(id: string): Promise<boolean> {
    const job = await this.#o.deadLetter.getJob(id);
    if (!job) return false;
    await job.remove();
    await this.#o.redis.del(queueKeys.marker(this.#o.prefix, id));
    return true;
  }

  /**
   * Moves failed jobs of a work queue to the dead-letter queue (or drops the origin copy when the
   * dead-letter queue has it already). Our processor buries its dead jobs itself; this catches what
   * BullMQ failed on its own (stalled too often) and leftovers of a crash mid-move.
   */
  async sweepFailed(queueName: WorkQueueName, job?: Job): Promise<number> {
    const queue = this.#o.queues[queueName];
    const jobs = job ? [job] : await queue.getFailed(0, SCAN_PAGE - 1);
    let moved = 0;
    for (const failed of jobs) {
      if (!failed?.id) continue;
      const id = String(failed.id);
      const buried = (await this.#o.deadLetter.getJob(id)) !== undefined;
      if (!buried) {
        await this.bury(failed, queueName, {
          reason: `failed outside the pipeline: ${failed.failedReason || 'no reason given'}`,
          code: null,
          message: failed.failedReason ?? '',
          attemptsMade: failed.attemptsMade,
          failedAt: failed.finishedOn ?? Date.now(),
        });
        moved += 1;
      }
      await failed.remove().catch((err: unknown) => {
        // Locked by a worker that is retrying it right now: the next sweep takes it.
        if (!String(err).includes('locked')) throw err;
      });
    }
    return moved;
  }

  async #select(request: RedriveRequest): Promise<Job[]> {
    const { deadLetter } = this.#o;
    if (request.ids) {
      const jobs = await Promise.all(request.ids.map((id) => deadLetter.getJob(id)));
      const missing = request.ids.filter((_, index) => !jobs[index]);
      if (missing.length > 0) {
        throw new ValidationError(missing.map((id) => ({ path: 'ids', message: `no dead job "${id}"` })));
      }
      return jobs as Job[];
    }
    const filter = request.filter ?? {};
    const selected: Job[] = [];
    for (let offset = 0; selected.length < MAX_REDRIVE; offset += SCAN_PAGE) {
      const jobs = await deadLetter.getJobs(['waiting'], offset, offset + SCAN_PAGE - 1, true);
      for (const job of jobs)
        if (job && matches(job, filter) && selected.length < MAX_REDRIVE) selected.push(job);
      if (jobs.length < SCAN_PAGE) break;
    }
    return selected;
  }
}

function matches(job: Job, filter: DeadLetterFilter): boolean {
  const record = job.data as DeadRecord;
  if (filter.account !== undefined && record.account !== filter.account) return false;
  if (filter.code !== undefined && record.code !== filter.code) return false;
  if (filter.queue !== undefined && record.queue !== filter.queue) return false;
  return true;
}

function toItem(job: Job): DeadLetterItem {
  const record = job.data as DeadRecord;
  return {
    id: String(job.id),
    queue: record.queue,
    name: record.name,
    account: record.account,
    data: record.data,
    code: record.code,
    message: record.message,
    reason: record.reason,
    attemptsMade: record.attemptsMade,
    failedAt: new Date(record.failedAt).toISOString(),
  };
}

function encodeCursor(offset: number): string {
  return Buffer.from(`o${offset}`).toString('base64url');
}

function decodeCursor(cursor: string | undefined): number {
  if (!cursor) return 0;
  const text = Buffer.from(cursor, 'base64url').toString();
  const offset = Number(text.slice(1));
  if (!text.startsWith('o') || !Number.isSafeInteger(offset) || offset < 0) {
    throw new ValidationError([{ path: 'cursor', message: 'is not a cursor this API gave out' }]);
  }
  return offset;
}
