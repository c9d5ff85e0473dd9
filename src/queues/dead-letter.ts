import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { EventDataMap } from '../events/index.js';
import { type AccountLookup, type Issue, ValidationError, validateJobData } from '../jobs/index.js';
import { outboxKey, QUEUE_NAMES, queueKeys, type WorkQueueName } from '../keys.js';
import {
  type DeadLetterFilter,
  type DeadLetterItem,
  type DeadRecord,
  deadLetterId,
  deadLetterJobOptions,
  deadRecord,
  decodeCursor,
  encodeCursor,
  matches,
  toItem,
} from './dead-letter-record.js';
import { workJobOptions } from './job-options.js';
import { defineQueueScripts, storedJobOptions } from './lua.js';
import { type DeadInfo, deadMarker, parseMarker } from './markers.js';

export type { DeadLetterFilter, DeadLetterItem, DeadRecord } from './dead-letter-record.js';
export { deadLetterId } from './dead-letter-record.js';

export interface RedriveRequest {
  readonly ids?: readonly string[];
  readonly filter?: DeadLetterFilter;
  readonly patch?: Readonly<Record<string, unknown>>;
}

/** One dead job on its way back: its entry, its record, and its data with the patch applied. */
interface RedriveMove {
  readonly job: Job;
  readonly record: DeadRecord;
  readonly data: unknown;
}

export interface DeadLettersOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly deadLetter: Queue;
  readonly queues: Readonly<Record<WorkQueueName, Queue>>;
  readonly accounts: AccountLookup;
  readonly attempts: number;
}

/** Why a move was refused for one id; nothing was changed for any id of the request. */
export type Refusal = 'missing' | 'done' | 'claimed' | 'unmarked' | 'busy';

const REFUSALS: Record<Refusal, string> = {
  missing: 'is no longer in the dead-letter queue (redriven or purged meanwhile)',
  done: 'its shipment is done: this entry is a stale copy; purge it',
  claimed: 'its id is being enqueued or redriven right now',
  unmarked: 'is not marked dead: this entry is a stale copy; purge it',
  busy: 'its job is still in its queue (waiting, running or retained); try again once it has left',
};

/** A redrive or purge refused because the state in Redis is not what the move needs (HTTP 409). */
export class DeadLetterConflictError extends Error {
  override readonly name = 'DeadLetterConflictError';
  readonly kind = 'conflict';
  readonly refusals: readonly { readonly id: string; readonly why: Refusal }[];
  /** One issue per refused id: `path` is the id. */
  readonly issues: Issue[];

  constructor(refusals: readonly { readonly id: string; readonly why: Refusal }[]) {
    super(`nothing changed: ${refusals.map(({ id, why }) => `"${id}" ${REFUSALS[why]}`).join('; ')}`);
    this.refusals = refusals;
    this.issues = refusals.map(({ id, why }) => ({ path: id, message: REFUSALS[why] }));
  }
}

/** What bury found: entry added, entry there already, or no bury (marker done / not dead). */
export type BuryResult = 'buried' | 'present' | 'done' | 'unmarked';

const SCAN_PAGE = 500;
/** Redrive by filter takes at most this many per call; call again for more. */
export const MAX_REDRIVE = 1_000;
/** How long a redrive's claim on a job id lasts (the marker while the job waits to be taken). */
const REDRIVE_CLAIM_MS = 60_000;
/** How often a sweep re-reads a failed job whose marker changed under it before leaving it to the next. */
const SWEEP_TRIES = 3;

/**
 * The dead-letter queue: one home per dead job, kept until a person redrives or purges it. It is a
 * BullMQ queue (the dashboard shows it) whose jobs wait and are never processed. Every move in or out
 * is one Lua script (./scripts) that checks the job's marker, its dead-letter entry and its origin
 * queue inside Redis, and answers with a code instead of acting on a stale read.
 */
export class DeadLetters {
  readonly #o: DeadLettersOptions;

  constructor(options: DeadLettersOptions) {
    this.#o = options;
    defineQueueScripts(options.redis);
  }

  /**
   * Parks a job that died: its dead marker (unless the marker says done, or dead already) and its
   * dead-letter entry, in one step.
   */
  async bury(job: Job, queue: WorkQueueName, info: DeadInfo): Promise<BuryResult> {
    return this.#bury(job, queue, info, deadMarker(info));
  }

  /**
   * Adds the dead-letter entry of a job whose dead marker is already written (by the settle of the
   * call that died), only while that marker is dead.
   */
  async finishBury(job: Job, queue: WorkQueueName, info: DeadInfo): Promise<BuryResult> {
    return this.#bury(job, queue, info, '');
  }

  async #bury(job: Job, queue: WorkQueueName, info: DeadInfo, marker: string): Promise<BuryResult> {
    const { redis, prefix } = this.#o;
    const jobId = String(job.id);
    const deadId = deadLetterId(queue, jobId);
    const record = deadRecord(job, queue, info, deadId);
    const event = deadEvent(record, deadId);
    return (await redis.fulfillBury(
      4,
      queueKeys.marker(prefix, jobId),
      this.#deadKey(deadId),
      outboxKey(prefix),
      queueKeys.backlog(prefix, record.account),
      this.#deadBase(),
      deadId,
      job.name,
      JSON.stringify(record),
      storedJobOptions(deadLetterJobOptions(deadId)),
      Date.now(),
      marker,
      JSON.stringify(event),
      jobId,
    )) as BuryResult;
  }

  /** A dead job by its dead-letter id (or by the bare integer id it had in its queue). */
  async get(id: string): Promise<DeadLetterItem | null> {
    const ids = [id, deadLetterId('ship', id), deadLetterId('sync', id)];
    for (const candidate of new Set(ids)) {
      const job = await this.#o.deadLetter.getJob(candidate);
      if (job) return toItem(job);
    }
    return null;
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
   * Puts dead jobs back on their origin queue under their dead-letter id, each with the patch applied
   * and validated like a new job. All or nothing: if any patched job is invalid (ValidationError), or
   * any is no longer dead, or its origin queue still holds it (DeadLetterConflictError), nothing moves.
   */
  async redrive(request: RedriveRequest): Promise<{ redriven: number; ids: string[] }> {
    const moves = this.#patched(await this.#select(request), request.patch ?? {});
    if (moves.length === 0) return { redriven: 0, ids: [] };
    const { keys, args } = this.#redriveCall(moves, request.patch ?? null);
    const answer = (await this.#o.redis.fulfillRedrive(
      keys.length,
      ...keys,
      this.#deadBase(),
      REDRIVE_CLAIM_MS,
      Date.now(),
      ...args,
    )) as string[];
    if (answer[0] !== 'redriven') throw new DeadLetterConflictError(refusalsOf(answer));
    return { redriven: moves.length, ids: moves.map(({ job }) => String(job.id)) };
  }

  /** Each job with the patch applied and validated like a new job; a ValidationError names them all. */
  #patched(jobs: readonly Job[], patch: Readonly<Record<string, unknown>>): RedriveMove[] {
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
    return moves;
  }

  /** The redrive script's KEYS and per-item ARGV (see scripts/redrive.lua). */
  #redriveCall(
    moves: readonly RedriveMove[],
    patch: Readonly<Record<string, unknown>> | null,
  ): { keys: string[]; args: (string | number)[] } {
    const { prefix, attempts } = this.#o;
    const keys: string[] = [];
    const args: (string | number)[] = [];
    for (const { job, record, data } of moves) {
      const id = String(job.id);
      const originId = record.originId ?? id;
      const options = workJobOptions(id, attempts);
      keys.push(
        this.#deadKey(id),
        queueKeys.marker(prefix, originId),
        queueKeys.marker(prefix, id),
        queueKeys.backlog(prefix, record.account),
      );
      args.push(
        id,
        queueKeys.base(prefix, record.queue),
        originId,
        id,
        record.name,
        JSON.stringify(data),
        storedJobOptions(options),
        options.priority ?? 0,
        // The entry this payload was read from: a newer one under the same id is refused, not redriven.
        String(job.timestamp),
        JSON.stringify({
          id,
          queue: record.queue,
          name: record.name,
          account: record.account,
          patch,
        } satisfies EventDataMap['job.redriven']),
      );
    }
    keys.push(outboxKey(this.#o.prefix));
    return { keys, args };
  }

  /**
   * Purges one dead job for good, its entry and its dead marker together; afterwards its key can be
   * enqueued afresh. A done or claimed marker is kept (only a stale entry beside it goes). False when
   * there is nothing to purge; DeadLetterConflictError while its origin queue still holds the job.
   */
  async remove(id: string): Promise<boolean> {
    const { redis, prefix, deadLetter } = this.#o;
    const record = (await deadLetter.getJob(id))?.data as DeadRecord | undefined;
    const originId = record?.originId ?? id;
    // Without an entry (a dead marker left by a crash) the origin queue is unknown: both are checked.
    const queues: WorkQueueName[] = record ? [record.queue] : ['ship', 'sync'];
    const answer = await redis.fulfillPurge(
      2,
      this.#deadKey(id),
      queueKeys.marker(prefix, originId),
      this.#deadBase(),
      id,
      originId,
      ...queues.map((queue) => queueKeys.base(prefix, queue)),
    );
    if (answer === 'busy') throw new DeadLetterConflictError([{ id, why: 'busy' }]);
    return answer === 'purged';
  }

  /**
   * Moves failed jobs of a work queue to the dead-letter queue (or drops the origin copy when the
   * dead-letter queue has it already, or its marker says done). Our processor buries its dead jobs
   * itself; this catches what BullMQ failed on its own (stalled too often) and leftovers of a crash
   * mid-move. Each job is one script that acts only while the job is still failed and its marker is
   * what was read here: a redrive or retry landing in between is left alone.
   */
  async sweepFailed(queueName: WorkQueueName, job?: Job): Promise<number> {
    const queue = this.#o.queues[queueName];
    const jobs = job ? [job] : await queue.getFailed(0, SCAN_PAGE - 1);
    let moved = 0;
    for (const failed of jobs) {
      if (!failed?.id) continue;
      // A marker that changes under the sweep three times running is left to the next sweep.
      for (let tries = 0; tries < SWEEP_TRIES; tries += 1) {
        const answer = await this.#sweepOne(queueName, failed);
        if (answer === 'buried') moved += 1;
        if (answer !== 'changed') break;
      }
    }
    return moved;
  }

  async #sweepOne(queueName: WorkQueueName, failed: Job): Promise<string> {
    const { redis, prefix } = this.#o;
    const id = String(failed.id);
    const deadId = deadLetterId(queueName, id);
    const markerKey = queueKeys.marker(prefix, id);
    const marker = await redis.get(markerKey);
    const parsed = parseMarker(marker);
    const info: DeadInfo =
      parsed?.kind === 'dead'
        ? {
            reason: parsed.reason,
            code: parsed.code,
            message: parsed.message,
            attemptsMade: parsed.attemptsMade,
            failedAt: parsed.failedAt,
          }
        : {
            reason: `failed outside the pipeline: ${failed.failedReason || 'no reason given'}`,
            code: null,
            message: failed.failedReason ?? '',
            attemptsMade: failed.attemptsMade,
            failedAt: failed.finishedOn ?? Date.now(),
          };
    const record = deadRecord(failed, queueName, info, deadId);
    const event = deadEvent(record, deadId);
    return (await redis.fulfillSweepFailed(
      4,
      markerKey,
      this.#deadKey(deadId),
      outboxKey(prefix),
      queueKeys.backlog(prefix, record.account),
      queueKeys.base(prefix, queueName),
      id,
      `=${marker ?? ''}`,
      deadMarker(info),
      this.#deadBase(),
      deadId,
      failed.name,
      JSON.stringify(record),
      storedJobOptions(deadLetterJobOptions(deadId)),
      Date.now(),
      failed.finishedOn === undefined ? '' : String(failed.finishedOn),
      JSON.stringify(event),
    )) as string;
  }

  #deadBase(): string {
    return queueKeys.base(this.#o.prefix, QUEUE_NAMES.deadLetter);
  }

  #deadKey(deadId: string): string {
    return queueKeys.job(this.#o.prefix, QUEUE_NAMES.deadLetter, deadId);
  }

  async #select(request: RedriveRequest): Promise<Job[]> {
    const { deadLetter } = this.#o;
    if (request.ids) {
      const ids = [...new Set(request.ids)];
      const jobs = await Promise.all(ids.map((id) => deadLetter.getJob(id)));
      const missing = ids.filter((_, index) => !jobs[index]);
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

/** The job.dead event of a dead-letter entry, recorded by the script that adds the entry. */
function deadEvent(record: DeadRecord, deadId: string): EventDataMap['job.dead'] {
  const { queue, name, account, code, message, reason, attemptsMade } = record;
  return { id: deadId, queue, name, account, code, message, reason, attemptsMade };
}

/** The redrive script's refusals, {'refused', id, why, id, why, ...}, as pairs. */
function refusalsOf(answer: readonly string[]): { id: string; why: Refusal }[] {
  const refusals: { id: string; why: Refusal }[] = [];
  for (let i = 1; i < answer.length; i += 2) refusals.push({ id: answer[i]!, why: answer[i + 1] as Refusal });
  return refusals;
}
