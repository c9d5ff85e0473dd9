import type { Job } from 'bullmq';
import { type JobData, type JobName, ValidationError } from '../jobs/index.js';
import type { WorkQueueName } from '../keys.js';
import type { DeadInfo } from './markers.js';

// A dead-letter entry as stored (its id, data and options) and as read back (list items, filters and
// the list's cursor): pure, no Redis. The moves in and out are in dead-letter.ts.

/** What the dead-letter queue holds per job (the BullMQ job's data; its id is the dead-letter id). */
export interface DeadRecord extends DeadInfo {
  readonly queue: WorkQueueName;
  readonly name: JobName;
  readonly account: string;
  readonly data: JobData;
  /** When the job was first enqueued (epoch ms). */
  readonly enqueuedAt: number;
  /** The job's id in its origin queue, when the dead-letter id differs from it (see deadLetterId). */
  readonly originId?: string;
}

/** One item of `GET /v1/dead-letter`. */
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

/**
 * The id of a job's dead-letter entry: the job's own id, except for a bare integer id (what BullMQ
 * gives a job added without one, as a foreign producer may do): BullMQ refuses integers as custom ids,
 * so the entry is `<queue>-<id>` (`sync-123`), and a redrive puts the job back under that string id.
 * "Bare integer" is BullMQ's own rule: the id is what parseInt prints back.
 */
export function deadLetterId(queue: WorkQueueName, jobId: string): string {
  return String(Number.parseInt(jobId, 10)) === jobId ? `${queue}-${jobId}` : jobId;
}

/** A dead-letter entry is never processed; it is removed by redrive or purge. */
export function deadLetterJobOptions(deadId: string) {
  return { jobId: deadId, removeOnComplete: true };
}

export function deadRecord(job: Job, queue: WorkQueueName, info: DeadInfo, deadId: string): DeadRecord {
  const data = job.data as JobData;
  const jobId = String(job.id);
  const { reason, code, message, attemptsMade, failedAt } = info;
  return {
    reason,
    code,
    message,
    attemptsMade,
    failedAt,
    queue,
    name: job.name as JobName,
    account: typeof data?.account === 'string' ? data.account : '',
    data,
    enqueuedAt: job.timestamp,
    ...(deadId === jobId ? {} : { originId: jobId }),
  };
}

export function matches(job: Job, filter: DeadLetterFilter): boolean {
  const record = job.data as DeadRecord;
  if (filter.account !== undefined && record.account !== filter.account) return false;
  if (filter.code !== undefined && record.code !== filter.code) return false;
  if (filter.queue !== undefined && record.queue !== filter.queue) return false;
  return true;
}

export function toItem(job: Job): DeadLetterItem {
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

export function encodeCursor(offset: number): string {
  return Buffer.from(`o${offset}`).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): number {
  if (!cursor) return 0;
  const text = Buffer.from(cursor, 'base64url').toString();
  const offset = Number(text.slice(1));
  if (!text.startsWith('o') || !Number.isSafeInteger(offset) || offset < 0) {
    throw new ValidationError([{ path: 'cursor', message: 'is not a cursor this API gave out' }]);
  }
  return offset;
}
