import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  type AccountLookup,
  ValidationError,
  type ValidJob,
  validateBatch,
  validateJob,
} from '../jobs/index.js';
import { workJobOptions } from './job-options.js';
import { QUEUE_NAMES, queueKeys, type WorkQueueName } from './keys.js';
import { defineQueueScripts, storedJobOptions } from './lua.js';
import { parseMarker } from './markers.js';

/** Job states of docs/api.md ("GET /v1/jobs/:id"). */
export type JobState = 'waiting' | 'active' | 'delayed' | 'completed' | 'failed' | 'dead';

export interface EnqueueResult {
  readonly id: string;
  readonly state: JobState;
  readonly duplicate: boolean;
}

export interface ProducerOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly queues: Readonly<Record<WorkQueueName, Queue>>;
  readonly accounts: AccountLookup;
  readonly attempts: number;
}

/** ioredis states of a connection that was up and is lost (or closed): commands would only queue. */
export const REDIS_AWAY_STATES: ReadonlySet<string> = new Set(['reconnecting', 'close', 'end']);

/** Thrown by an enqueue while Redis is away (after validation): nothing was written; retry later. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
  constructor() {
    super('Redis is not reachable; nothing was enqueued');
  }
}

/**
 * The producer library: validates at the door, derives the idempotency key (the BullMQ job id), and
 * enqueues, or answers with the job that already has that key. Nothing of an invalid request is
 * written: validation happens before any Redis call.
 */
export class Producer {
  readonly #options: ProducerOptions;

  constructor(options: ProducerOptions) {
    this.#options = options;
    defineQueueScripts(options.redis);
  }

  /** One ship job `{ account, ...payload }`. Throws ValidationError naming every problem. */
  async ship(input: unknown): Promise<EnqueueResult> {
    return (await this.#enqueue([this.#validate('ship', input, '')]))[0]!;
  }

  /** One sync job `{ account, orderSns, ownerId }`. */
  async sync(input: unknown): Promise<EnqueueResult> {
    return (await this.#enqueue([this.#validate('sync', input, '')]))[0]!;
  }

  /**
   * Many jobs `{ type: 'ship' | 'sync', account, ...payload }`: all validated first; if any is bad,
   * ValidationError with paths like `jobs.3.tid` and nothing is enqueued. Results in input order; a
   * repeat inside the batch gets the first one's id and `duplicate: true`.
   */
  async batch(items: readonly unknown[]): Promise<EnqueueResult[]> {
    const result = validateBatch({ jobs: items }, this.#options.accounts);
    if (!result.ok) throw new ValidationError(result.issues);
    return this.#enqueue(result.jobs);
  }

  #validate(type: WorkQueueName, input: unknown, at: string): ValidJob {
    const result = validateJob(type, input, this.#options.accounts);
    if (!result.ok) {
      throw new ValidationError(result.issues.map((issue) => ({ ...issue, path: at + issue.path })));
    }
    return result.job;
  }

  async #enqueue(jobs: readonly ValidJob[]): Promise<EnqueueResult[]> {
    const { redis, prefix, attempts } = this.#options;
    // Fail now rather than queue the writes until Redis is back (a connection still being made at
    // start-up is let through: its commands wait for it briefly).
    if (REDIS_AWAY_STATES.has(redis.status)) throw new RedisUnavailableError();
    // First occurrence of each key decides; later repeats inside the batch point at it. A job
    // without a key (a sync) gets an id of its own and is always new.
    const firstIndex = new Map<string, number>();
    const unique: { job: ValidJob; index: number; id: string }[] = [];
    jobs.forEach((job, index) => {
      if (job.id === null) unique.push({ job, index, id: syncJobId(job.account) });
      else if (!firstIndex.has(job.id)) {
        firstIndex.set(job.id, index);
        unique.push({ job, index, id: job.id });
      }
    });
    const keys: string[] = [];
    const args: (string | number)[] = [];
    for (const { job, id } of unique) {
      const options = workJobOptions(id, attempts);
      keys.push(
        queueKeys.marker(prefix, id),
        queueKeys.job(prefix, job.queue, id),
        queueKeys.job(prefix, QUEUE_NAMES.deadLetter, id),
        queueKeys.backlog(prefix, job.account),
      );
      args.push(
        job.id === null ? '' : '1',
        queueKeys.job(prefix, job.queue, ''),
        id,
        job.name,
        JSON.stringify(job.data),
        storedJobOptions(options),
        options.priority ?? 0,
      );
    }
    const answers = (await redis.fulfillEnqueue(keys.length, ...keys, Date.now(), ...args)) as string[];

    const results: (EnqueueResult | undefined)[] = new Array(jobs.length);
    await Promise.all(
      unique.map(async ({ job, index, id }, i) => {
        const answer = answers[i];
        if (answer === 'new') results[index] = { id, state: 'waiting', duplicate: false };
        else if (answer === 'done') results[index] = { id, state: 'completed', duplicate: true };
        else if (answer === 'dead') results[index] = { id, state: 'dead', duplicate: true };
        else {
          // Already in its queue: report its current state.
          const state = await this.#options.queues[job.queue].getJobState(id);
          results[index] = {
            id,
            // Gone since the script: it finished or died, and its marker says which.
            state: state === 'unknown' ? await this.#finishedState(id) : toJobState(state),
            duplicate: true,
          };
        }
      }),
    );
    return jobs.map((job, index) => {
      const first = job.id === null ? index : firstIndex.get(job.id)!;
      const result = results[first]!;
      return first === index ? result : { ...result, duplicate: true };
    });
  }

  async #finishedState(id: string): Promise<JobState> {
    const { redis, prefix } = this.#options;
    const marker = parseMarker(await redis.get(queueKeys.marker(prefix, id)));
    return marker?.kind === 'dead' ? 'dead' : 'completed';
  }
}

/**
 * The id of a job without an idempotency key (a sync): a string the service picks, never one of
 * BullMQ's bare integers, which it keeps for itself and refuses as a custom id (so the job could not
 * move to the dead-letter queue under its id). `sync.<account>.<22 random base64url characters>`.
 */
export function syncJobId(account: string): string {
  return `sync.${account}.${randomBytes(16).toString('base64url')}`;
}

/** BullMQ's states mapped onto ours (a prioritized job is waiting; an unknown one finished and left). */
export function toJobState(state: string): JobState {
  switch (state) {
    case 'active':
    case 'delayed':
    case 'completed':
    case 'failed':
    case 'waiting':
      return state;
    case 'unknown':
      return 'completed';
    default:
      return 'waiting';
  }
}
